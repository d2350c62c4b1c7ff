/**
 * What the serving benchmarks share: an `embedbench serve` child process (started, waited for,
 * stopped, and killed if the benchmark exits early), a /health poller off the main thread, and
 * the child's memory from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Pool } from 'undici';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const SERVER_START_TIMEOUT_MS = 300_000;
const SERVER_STOP_TIMEOUT_MS = 60_000;

/** Servers still running; killed if the benchmark exits early so none is left behind. */
const liveServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

export async function startServer(backend: string, modelDir: string, extraArgs: readonly string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--backend', backend, '--model', modelDir, '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  liveServers.add(child);
  child.once('exit', () => liveServers.delete(child));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${backend} server did not report its URL`)), SERVER_START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`${backend} server exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: unknown; level?: number; msg?: string };
        if (typeof entry.url === 'string') {
          clearTimeout(timer);
          resolveUrl(entry.url);
        } else if ((entry.level ?? 0) >= 40) process.stderr.write(`[${backend}] ${entry.msg}\n`);
      } catch {
        process.stderr.write(`[${backend}] ${line}\n`);
      }
    });
  });
  return { child, url };
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export async function waitHealthy(pool: Pool, backend: string): Promise<void> {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const response = await pool.request({ path: '/health', method: 'GET' }).catch(() => undefined);
    const status = response?.statusCode;
    await response?.body.dump();
    if (status === 200) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
  throw new Error(`${backend} server did not become healthy within ${SERVER_START_TIMEOUT_MS / 1000} s`);
}

export interface HealthPolls {
  /** Response times of the polls answered 200, in ms. */
  latencies: number[];
  failures: number;
}

/** Starts polling /health in a worker thread; stop() resolves with what it saw. */
export function pollHealth(url: string, intervalMs: number): { stop(): Promise<HealthPolls> } {
  const worker = new Worker(new URL('./health-poller.js', import.meta.url), { workerData: { url, intervalMs } });
  const latencies = new Promise<HealthPolls>((resolveLatencies, reject) => {
    worker.once('message', resolveLatencies);
    worker.once('error', reject);
  });
  latencies.catch(() => {});
  return {
    stop: () => {
      worker.postMessage('stop');
      return latencies;
    },
  };
}

export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
}

/** Resident set size (VmRSS) or its peak so far (VmHWM) of a live process, from /proc, in MiB. */
export function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (Linux clear_refs, value 5). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

