import { execFile } from 'node:child_process';
import { cpus, hostname, totalmem, type, release, arch } from 'node:os';
import { promisify } from 'node:util';
import type { Environment } from '@embedbench/loadtest/result';
import { EMBEDBENCH_VERSION } from '../version.js';

const run = promisify(execFile);

/** Where and with what a run happened; each part that cannot be found is null, never guessed. */
export async function collectEnvironment(): Promise<Environment> {
  const [gpus, gitSha] = await Promise.all([gpuNames(), commitSha()]);
  const processors = cpus();
  return {
    hostname: hostname(),
    os: `${type()} ${release()} ${arch()}`,
    cpuModel: processors[0]?.model.trim() || null,
    cpuCount: processors.length || null,
    memoryBytes: totalmem(),
    gpus,
    runtime: `node ${process.version}`,
    embedbenchVersion: EMBEDBENCH_VERSION,
    gitSha,
  };
}

/** [] when nvidia-smi is absent (no NVIDIA GPU here); null when it exists but fails. */
async function gpuNames(): Promise<string[] | null> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 5000 });
    return stdout.split('\n').map((line) => line.trim()).filter(Boolean);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? [] : null;
  }
}

async function commitSha(): Promise<string | null> {
  if (process.env.EMBEDBENCH_GIT_SHA) return process.env.EMBEDBENCH_GIT_SHA;
  try {
    const { stdout } = await run('git', ['rev-parse', 'HEAD'], { timeout: 5000, cwd: new URL('.', import.meta.url) });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}
