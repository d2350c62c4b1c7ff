// Real processes for the dashboard test: `embedbench serve` on a tiny test model, and Debian's
// Prometheus binary with a temp config and storage. Each is stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');
export const TINY_MODEL = join(REPO_ROOT, '.cache/test-models/modernbert-tiny');
export const PROMETHEUS_CONFIG = join(REPO_ROOT, 'docker/prometheus/prometheus.yml');

/** Prometheus cannot listen on port 0, so ask the OS for a free port and hand it on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls probe until it returns a value; `gaveUp` names a failure that makes waiting pointless (a process that died). */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  gaveUp: () => string | undefined = () => undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const failure = gaveUp();
    if (failure !== undefined) throw new Error(`${what}: ${failure}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface Running {
  readonly url: string;
  readonly output: () => string;
  /** Why the process is gone, while it is. */
  readonly failure: () => string | undefined;
  stop(): Promise<void>;
}

function track(child: ChildProcess, url: string, cleanup: () => Promise<void> = async () => {}): Running {
  let output = '';
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    output: () => output,
    failure: () =>
      spawnError !== undefined
        ? `cannot start ${child.spawnfile}: ${spawnError.message}`
        : child.exitCode !== null
          ? `${child.spawnfile} exited ${child.exitCode}: ${output}`
          : undefined,
    async stop() {
      if (spawnError !== undefined) return cleanup();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killTimer);
      await cleanup();
    },
  };
}

/** `embedbench serve` on the tiny model; resolves once /health says healthy. */
export async function startService(backend: 'onnx' | 'transformers', extraArgs: readonly string[] = []): Promise<Running> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--backend', backend, '--model', TINY_MODEL, '--host', '127.0.0.1', '--port', String(port), '--execution-providers', 'cpu', '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const service = track(child, `http://127.0.0.1:${port}`);
  try {
    await waitFor(`${backend} service health`, async () => ((await fetch(`${service.url}/health`)).status === 200 ? true : undefined), service.failure);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/**
 * Debian's Prometheus on docker/prometheus/prometheus.yml itself, with the compose targets swapped
 * for the test's ports and a 1 s scrape interval, so the relabelling under test is the shipped one.
 */
export async function startPrometheus(targets: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-prometheus-'));
  let config = (await readFile(PROMETHEUS_CONFIG, 'utf8')).replace(/scrape_interval: \d+s/g, 'scrape_interval: 1s');
  for (const [composeTarget, testTarget] of Object.entries({ ...targets, 'localhost:9090': `127.0.0.1:${port}` })) {
    if (!config.includes(`'${composeTarget}'`)) throw new Error(`${PROMETHEUS_CONFIG} has no target '${composeTarget}'`);
    config = config.replaceAll(`'${composeTarget}'`, `'${testTarget}'`);
  }
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=native-histograms',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const prometheus = track(child, `http://127.0.0.1:${port}`, () => rm(dir, { recursive: true, force: true }));
  try {
    await waitFor('Prometheus readiness', async () => ((await fetch(`${prometheus.url}/-/ready`)).ok ? true : undefined), prometheus.failure);
  } catch (error) {
    await prometheus.stop();
    throw new Error(`${(error as Error).message}\n(is Debian's prometheus installed? scripts/setup-prometheus.sh)`);
  }
  return prometheus;
}
