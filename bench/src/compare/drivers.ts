import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { Scenario } from '@embedbench/loadtest/parameters';
import type { Passage } from '@embedbench/loadtest/passages';
import { runLoad } from '../load/driver.js';
import type { CompletedRequest } from '../load/driver.js';
import { parseLoadResult, type LoadResult } from '../result-files/schemas.js';
import { EMBEDBENCH_VERSION } from '../version.js';

const execFileAsync = promisify(execFile);

/** bench/dist/src/compare/drivers.js -> <repo>/loadtest/embed.ts */
export const K6_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../loadtest/embed.ts');

export interface LoadProgress {
  readonly elapsedSeconds: number;
  /** Requests per second so far; undefined when the driver cannot tell (k6). */
  readonly requestsPerSecond: number | undefined;
}

export interface LoadRequest {
  readonly baseUrl: string;
  readonly backend: string;
  readonly batchSize: number;
  readonly durationSeconds: number;
  readonly scenario: Scenario;
  /** Closed model: concurrent clients (compare's --max-concurrent-requests). */
  readonly vus: number;
  /** Open model: requests per second; saturation: the top rate. */
  readonly rate: number;
  /** Absolute path of the prepared passages (JSON Lines), for drivers that read files (k6). */
  readonly dataset: string;
  /** The same passages, already parsed, for the built-in driver. */
  readonly passages: readonly Passage[];
  readonly testid: string;
  /** Where a driver may keep its own files (k6's summary). */
  readonly workDir: string;
  readonly signal: AbortSignal;
  readonly onProgress: (progress: LoadProgress) => void;
  /** Each completed request, from drivers that see them one by one (the built-in one; k6 reports totals only). */
  readonly onResponse: (response: CompletedRequest) => void;
}

export interface LoadDriver {
  readonly name: 'k6' | 'builtin';
  /** Whether run() calls onResponse for each request (windows and pooled latency histograms need it). */
  readonly reportsEachRequest: boolean;
  run(request: LoadRequest): Promise<LoadResult>;
}

/** The built-in undici driver (`embedbench load`), in process. */
export const builtinDriver: LoadDriver = {
  name: 'builtin',
  reportsEachRequest: true,
  run: (request) =>
    runLoad({
      baseUrl: request.baseUrl,
      backend: request.backend,
      batchSize: request.batchSize,
      duration: request.durationSeconds,
      scenario: request.scenario,
      vus: request.vus,
      rate: request.rate,
      dataset: request.dataset,
      passages: request.passages,
      testid: request.testid,
      signal: request.signal,
      onProgress: (progress) => request.onProgress({ elapsedSeconds: progress.elapsedSeconds, requestsPerSecond: progress.requestsPerSecond }),
      onResponse: request.onResponse,
    }),
};

/** grafana/k6, run next to the backend containers when the host has no k6. */
export const K6_CONTAINER_IMAGE = 'grafana/k6:latest';

/**
 * `auto`: k6 on PATH, else (docker runtime) the grafana/k6 image when the engine has it, else the
 * built-in driver. `k6` is the same without the built-in fallback.
 */
export async function chooseDriver(choice: 'auto' | 'k6' | 'builtin', docker: Docker | undefined): Promise<LoadDriver> {
  if (choice === 'builtin') return builtinDriver;
  const version = await k6OnPath();
  if (version) return k6Driver(version);
  if (docker && (await docker.getImage(K6_CONTAINER_IMAGE).inspect().then(() => true, () => false))) return k6ContainerDriver(docker);
  if (choice === 'k6') throw new Error(`--driver k6: k6 is not on PATH${docker ? ` and the engine has no ${K6_CONTAINER_IMAGE} image` : ''} (install it, or use --driver builtin)`);
  return builtinDriver;
}

export async function k6OnPath(command = 'k6'): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(command, ['version'], { timeout: 10_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The script's environment variables (loadtest/README.md); paths as k6 will see them. */
function k6Environment(request: LoadRequest, paths: { dataset: string; resultsDir: string }, version: string): Record<string, string> {
  return {
    BASE_URL: request.baseUrl,
    BACKEND: request.backend,
    BATCH_SIZE: String(request.batchSize),
    DURATION: `${request.durationSeconds}s`,
    SCENARIO: request.scenario,
    VUS: String(request.vus),
    RATE: String(request.rate),
    MAX_VUS: String(Math.max(request.vus, 100)),
    DATASET: paths.dataset,
    TESTID: request.testid,
    RESULTS_DIR: paths.resultsDir,
    K6_VERSION: version,
    EMBEDBENCH_VERSION,
  };
}

/** handleSummary's result file; k6 exits 99 when a threshold fails, and the result still holds the measurements. */
async function readK6Result(request: LoadRequest, exit: number | null, output: string): Promise<LoadResult> {
  if (request.signal.aborted) throw new Error('k6 run aborted');
  const resultPath = join(request.workDir, `${request.testid}.result.json`);
  let text: string;
  try {
    text = await readFile(resultPath, 'utf8');
  } catch {
    throw new Error(`k6 exited with code ${exit} without writing ${resultPath}:\n${output.trim().split('\n').slice(-15).join('\n')}`);
  }
  return parseLoadResult(JSON.parse(text), resultPath);
}

/** k6 shows no live request rate to a parent process; progress is elapsed time only. */
function elapsedTicker(request: LoadRequest): () => void {
  const started = Date.now();
  const timer = setInterval(() => request.onProgress({ elapsedSeconds: (Date.now() - started) / 1000, requestsPerSecond: undefined }), 1000);
  return () => clearInterval(timer);
}

/** `k6 run loadtest/embed.ts` on the host, configured by environment variables. */
export function k6Driver(version: string, command = 'k6'): LoadDriver {
  return {
    name: 'k6',
    reportsEachRequest: false,
    async run(request: LoadRequest): Promise<LoadResult> {
      await mkdir(request.workDir, { recursive: true });
      const env = { ...process.env, ...k6Environment(request, { dataset: request.dataset, resultsDir: request.workDir }, version) };
      const child = spawn(command, ['run', '--quiet', K6_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'], signal: request.signal });
      let output = '';
      const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const stopTicker = elapsedTicker(request);
      const exit = await new Promise<number | null>((done) => {
        child.once('error', () => done(null));
        child.once('close', (code) => done(code));
      }).finally(stopTicker);
      return readK6Result(request, exit, output);
    },
  };
}

/**
 * The same script in the grafana/k6 container, on the host network so that it reaches the
 * published backend port at 127.0.0.1; the script, the passages and the result folder are mounted.
 */
export function k6ContainerDriver(docker: Docker, image = K6_CONTAINER_IMAGE): LoadDriver {
  return {
    name: 'k6',
    reportsEachRequest: false,
    async run(request: LoadRequest): Promise<LoadResult> {
      await mkdir(request.workDir, { recursive: true });
      // The image runs k6 as an unprivileged user that must be able to write the result.
      await chmod(request.workDir, 0o777);
      const env = k6Environment(request, { dataset: `/data/${basename(request.dataset)}`, resultsDir: '/results' }, image);
      const container = await docker.createContainer({
        Image: image,
        Cmd: ['run', '--quiet', '/loadtest/embed.ts'],
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        HostConfig: {
          NetworkMode: 'host',
          Binds: [`${dirname(K6_SCRIPT)}:/loadtest:ro`, `${dirname(request.dataset)}:/data:ro`, `${request.workDir}:/results`],
        },
      });
      const stopTicker = elapsedTicker(request);
      const onAbort = () => void container.stop({ t: 2 }).catch(() => undefined);
      request.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode?: number };
        const output = ((await container.logs({ stdout: true, stderr: true })) as Buffer).toString('utf8');
        return await readK6Result(request, StatusCode ?? null, output);
      } finally {
        stopTicker();
        request.signal.removeEventListener('abort', onAbort);
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };
}
