import { execFile } from 'node:child_process';
import { freemem, totalmem, availableParallelism, cpus } from 'node:os';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { probeExecutionProviders, type ProviderProbe } from '@embedbench/backends/providers/probe';
import { EXECUTION_PROVIDERS } from '@embedbench/core/backend';

const execFileAsync = promisify(execFile);

interface ToolCheck {
  readonly name: string;
  /** Command and arguments that print a version; the first line of its output is shown. */
  readonly command: readonly [string, ...string[]];
  readonly purpose: string;
}

const TOOLS: readonly ToolCheck[] = [
  { name: 'nvidia-smi', command: ['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], purpose: 'GPU metrics in compare' },
  { name: 'docker', command: ['docker', 'version', '--format', 'client {{.Client.Version}}, server {{.Server.Version}}'], purpose: 'compare --runtime docker, docker compose' },
  { name: 'podman', command: ['podman', '--version'], purpose: 'a Docker-compatible engine' },
  { name: 'apptainer', command: ['apptainer', '--version'], purpose: 'compare --runtime apptainer, SLURM jobs' },
  { name: 'sbatch', command: ['sbatch', '--version'], purpose: 'slurm/*.sbatch' },
  { name: 'k6', command: ['k6', 'version'], purpose: 'compare --driver k6 (else the built-in driver)' },
  { name: 'prometheus', command: ['prometheus', '--version'], purpose: 'the observability stack (compose runs its own)' },
];

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Print what this machine can do: the execution providers that really work (and why the others do not), GPU, containers, k6, Prometheus')
    .action(async () => {
      const [probes, tools] = await Promise.all([probeExecutionProviders(EXECUTION_PROVIDERS), Promise.all(TOOLS.map(checkTool))]);
      process.stdout.write(`${doctorReport(probes, tools)}\n`);
    });
}

async function checkTool(tool: ToolCheck): Promise<{ tool: ToolCheck; found: string | undefined }> {
  try {
    const [command, ...args] = tool.command;
    const { stdout, stderr } = await execFileAsync(command, args, { timeout: 10_000 });
    return { tool, found: (stdout || stderr).trim().split('\n')[0] };
  } catch {
    return { tool, found: undefined };
  }
}

/** What to do about a provider that is not available, when there is something to do. */
function hint(probe: ProviderProbe): string | undefined {
  if (probe.available) return probe.provider === 'webgpu' && !probe.gpu ? 'software driver: used only with --device webgpu' : undefined;
  if (/no Vulkan loader/.test(probe.detail)) return 'apt-get install libvulkan1 (docs/deploy.md: WebGPU)';
  if (/no Vulkan driver/.test(probe.detail)) return 'an NVIDIA driver brings nvidia_icd.json; without a GPU, scripts/setup-lavapipe.sh gives a software one for tests';
  if (/not installed/.test(probe.detail)) return 'the GPU images install it (ONNXRUNTIME_NODE_INSTALL=cuda12 with CUDA 12 + cuDNN 9)';
  return undefined;
}

export function doctorReport(probes: readonly ProviderProbe[], tools: ReadonlyArray<{ tool: ToolCheck; found: string | undefined }>): string {
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  const lines = [
    `machine:  ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${gib(totalmem())} memory (${gib(freemem())} free), node ${process.version}`,
    '',
    'execution providers (proven by running a one-node session in a child process):',
  ];
  for (const probe of probes) {
    const state = probe.available ? (probe.gpu ? 'works (GPU)' : 'works') : 'unavailable';
    const advice = hint(probe);
    lines.push(`  ${probe.provider.padEnd(9)} ${state.padEnd(12)} ${probe.detail}${advice ? `\n            -> ${advice}` : ''}`);
  }
  const gpu = probes.find((probe) => probe.available && probe.gpu);
  lines.push(
    '',
    gpu
      ? `serve and compare will use: ${gpu.provider} for onnx (fp16) and ${probes.some((p) => p.provider === 'cuda' && p.available) ? 'cuda' : gpu.provider} for transformers (fp32)`
      : 'serve and compare will use: the CPU (no GPU execution provider works here)',
    '',
    'tools:',
  );
  for (const { tool, found } of tools) lines.push(`  ${tool.name.padEnd(11)} ${(found ?? 'not found').padEnd(40)} ${tool.purpose}`);
  return lines.join('\n');
}
