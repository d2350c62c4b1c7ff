import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Scenario } from '@embedbench/loadtest/parameters';
import type { Passage } from '@embedbench/loadtest/passages';
import { runLoad } from '../load/driver.js';
import { parseLoadResult, type LoadResult } from '../results/schema.js';

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
  /** Closed model: concurrent clients (the proof of concept's max-concurrent-requests). */
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
}

export interface LoadDriver {
  readonly name: 'k6' | 'builtin';
  run(request: LoadRequest): Promise<LoadResult>;
}

/** The built-in undici driver (`embedbench load`), in process. */
export const builtinDriver: LoadDriver = {
  name: 'builtin',
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
    }),
};

/** `auto` takes k6 when it is on PATH, else the built-in driver. */
export async function chooseDriver(choice: 'auto' | 'k6' | 'builtin'): Promise<LoadDriver> {
  if (choice === 'builtin') return builtinDriver;
  const version = await k6OnPath();
  if (version) return k6Driver(version);
  if (choice === 'k6') throw new Error('--driver k6: k6 is not on PATH (install it, or use --driver builtin)');
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

/** `k6 run loadtest/embed.ts` configured by environment variables; reads back its handleSummary result. */
export function k6Driver(version: string, command = 'k6'): LoadDriver {
  return {
    name: 'k6',
    async run(request: LoadRequest): Promise<LoadResult> {
      await mkdir(request.workDir, { recursive: true });
      const env = {
        ...process.env,
        BASE_URL: request.baseUrl,
        BACKEND: request.backend,
        BATCH_SIZE: String(request.batchSize),
        DURATION: `${request.durationSeconds}s`,
        SCENARIO: request.scenario,
        VUS: String(request.vus),
        RATE: String(request.rate),
        MAX_VUS: String(Math.max(request.vus, 100)),
        DATASET: request.dataset,
        TESTID: request.testid,
        RESULTS_DIR: request.workDir,
        K6_VERSION: version,
      };
      const started = Date.now();
      const child = spawn(command, ['run', '--quiet', K6_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'], signal: request.signal });
      let output = '';
      const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const ticker = setInterval(() => request.onProgress({ elapsedSeconds: (Date.now() - started) / 1000, requestsPerSecond: undefined }), 1000);
      const exit = await new Promise<number | null>((done) => {
        child.once('error', () => done(null));
        child.once('close', (code) => done(code));
      }).finally(() => clearInterval(ticker));
      if (request.signal.aborted) throw new Error('k6 run aborted');
      const resultPath = join(request.workDir, `${request.testid}.result.json`);
      let text: string;
      try {
        text = await readFile(resultPath, 'utf8');
      } catch {
        throw new Error(`k6 exited with code ${exit} without writing ${resultPath}:\n${output.trim().split('\n').slice(-15).join('\n')}`);
      }
      // k6 exits 99 when a threshold fails; the result still holds the measurements.
      return parseLoadResult(JSON.parse(text), resultPath);
    },
  };
}
