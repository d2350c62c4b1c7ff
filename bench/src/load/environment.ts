import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, hostname, totalmem, type, release, arch } from 'node:os';
import { promisify } from 'node:util';
import type { Environment } from '@embedbench/loadtest/result';

const run = promisify(execFile);

/** Where and with what a run happened; each part that cannot be found is null, never guessed. */
export async function collectEnvironment(): Promise<Environment> {
  const [gpus, gitSha, embedbenchVersion] = await Promise.all([gpuNames(), commitSha(), packageVersion()]);
  const processors = cpus();
  return {
    hostname: hostname(),
    os: `${type()} ${release()} ${arch()}`,
    cpuModel: processors[0]?.model.trim() || null,
    cpuCount: processors.length || null,
    memoryBytes: totalmem(),
    gpus,
    runtime: `node ${process.version}`,
    embedbenchVersion,
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

async function packageVersion(): Promise<string | null> {
  try {
    // dist/src/load/environment.js -> bench/package.json
    const manifest = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return manifest.version ?? null;
  } catch {
    return null;
  }
}
