/**
 * What the serving benchmarks share: an `embedbench serve` child process (started, waited for,
 * stopped, and killed if the benchmark exits early), a /health poller off the main thread, and
 * the child's memory from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Pool } from 'undici';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const SERVER_START_TIMEOUT_MS = 300_000;
const SERVER_STOP_TIMEOUT_MS = 60_000;

/** The --model option's default, and how to make it, for the benchmarks' --help. */
export const DEFAULT_MODEL = 'models/modernbert-base-synthetic';
export const DEFAULT_MODEL_HELP =
  `Default model: ${DEFAULT_MODEL} (make it with\n` +
  `  node bench/dist/src/cli.js model synth --arch modernbert --size base --out ${DEFAULT_MODEL})\n`;

/** The absolute model directory, or an error saying it has no ONNX model to serve. */
export function servableModelDir(path: string): string {
  const modelDir = resolve(path);
  if (!existsSync(join(modelDir, 'onnx', 'model.onnx'))) {
    throw new Error(`${modelDir} has no onnx/model.onnx; synthesize it first (see --help)`);
  }
  return modelDir;
}

/** A benchmark option's value as a positive integer, or an error naming the option. */
export function positiveOption(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

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


export interface EmbedAnswer {
  readonly status: number;
  /** Whether the answer holds one embedding per text. */
  readonly complete: boolean;
  /** The error message of a non-200 answer, or the start of an unexpected body. */
  readonly error: string;
  /** The service's x-inference-time header, in ms. */
  readonly inferenceMs: number;
}

/** Posts texts to /embed and reads the answer. */
export async function postEmbed(pool: Pool, texts: readonly string[]): Promise<EmbedAnswer> {
  const response = await pool.request({
    path: '/embed',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts }),
  });
  const body = (await response.body.json()) as { num_embeddings?: number; error?: string };
  return {
    status: response.statusCode,
    complete: response.statusCode === 200 && body.num_embeddings === texts.length,
    error: body.error ?? JSON.stringify(body).slice(0, 200),
    inferenceMs: Number(response.headers['x-inference-time']),
  };
}
