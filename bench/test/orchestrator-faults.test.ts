/**
 * Orchestrator faults: embedbench compare on the local runtime with the tiny model, short
 * runs, against a port already in use, a read-only results disk and a full one (real tmpfs mounts:
 * the tests run as root, which chmod would not stop), and a backend killed during its warm-up
 * (compare-local covers a kill during the measured load).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runComparison, type CompareContext } from '../src/compare/orchestrator.js';
import { localRuntime, type LocalRuntimeOptions } from '../src/compare/runtimes/local.js';
import { loadResultSchema, resultsIndexSchema } from '../src/result-files/schemas.js';
import { REPO_ROOT, TINY_MODEL, tinyModelContext, writeTestPassages, type TestPassages } from './compare-support.js';

const execFileAsync = promisify(execFile);
const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');
let workDir: string;
let data: TestPassages;
const mounts: string[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-orchestrator-faults-'));
  data = await writeTestPassages(workDir, 32, 3);
});

after(async () => {
  for (const dir of mounts) await execFileAsync('umount', [dir]).catch(() => {});
  await rm(workDir, { recursive: true, force: true });
});

/** A tmpfs mounted at a new directory under the work directory. */
async function mountTmpfs(name: string, options: string): Promise<string> {
  const dir = join(workDir, name);
  await mkdir(dir);
  await execFileAsync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function context(resultsDir: string, options: Record<string, unknown> = {}, runtime?: LocalRuntimeOptions): CompareContext {
  return tinyModelContext(resultsDir, data, { backends: ['onnx'], batchSizes: [2], durationSeconds: 1, ...options }, { runtime: localRuntime({ stopGraceMs: 3000, ...runtime }) });
}

/** Every JSON file left in the directory tree parses; returns their names. */
async function assertEveryJsonParses(dir: string): Promise<string[]> {
  const files = (await readdir(dir, { recursive: true })).filter((file) => file.endsWith('.json'));
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    assert.doesNotThrow(() => JSON.parse(text), `${file} is not valid JSON: ${JSON.stringify(text.slice(-80))}`);
  }
  return files;
}

test('a port already in use: the run fails with a clear error naming the port, the next backend still runs', { timeout: 90_000 }, async () => {
  const squatter = createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const { port } = squatter.address() as AddressInfo;
  try {
    const resultsDir = join(workDir, 'port-in-use');
    const index = await runComparison(context(resultsDir, { backends: ['onnx', 'transformers'] }, { port }));
    assert.deepEqual(index.runs.map((run) => [run.backend, run.status]), [['onnx', 'failed'], ['transformers', 'failed']]);
    for (const run of index.runs) {
      assert.match(run.error ?? '', /^failed to start: /);
      assert.match(run.logTail ?? '', new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`), `${run.backend} log tail names the port`);
    }
    resultsIndexSchema.parse(JSON.parse(await readFile(join(resultsDir, 'results_index.json'), 'utf8')));
    await assertEveryJsonParses(resultsDir);
  } finally {
    squatter.close();
  }
});

test('a read-only results disk: compare exits non-zero at once with one clear line, nothing started', { timeout: 60_000 }, async () => {
  const resultsDir = await mountTmpfs('read-only', 'ro,size=1m');
  const started = Date.now();
  const failure = await execFileAsync(process.execPath, [
    CLI, 'compare', '--model', TINY_MODEL, '--data', data.path, '--backends', 'onnx', '--config.batch-sizes', '1',
    '--duration-seconds', '1', '--warmup', '0', '--driver', 'builtin', '--results-dir', resultsDir,
  ]).then(
    () => assert.fail('compare succeeded on a read-only results directory'),
    (error: { code: number; stderr: string }) => error,
  );
  assert.notEqual(failure.code, 0);
  const lines = failure.stderr.trim().split('\n').filter((line) => line.startsWith('embedbench:'));
  assert.equal(lines.length, 1, failure.stderr);
  assert.match(lines[0]!, new RegExp(`cannot write results to ${resultsDir}.*read-only`, 'i'));
  assert.ok(Date.now() - started < 30_000, 'fails before running anything');
  assert.deepEqual(await readdir(resultsDir), []);
});

test('a results disk that fills up mid-comparison: clear error, finished runs kept, no JSON file corrupted', { timeout: 120_000 }, async () => {
  const resultsDir = await mountTmpfs('full', 'size=1m');
  let filled = false;
  const outcome = await runComparison(context(resultsDir, { batchSizes: [1, 2] }), {
    onRunEnd: () => {
      if (filled) return;
      filled = true;
      // Take every byte left: the second run's log, result and the index update all hit ENOSPC.
      void fillDisk(join(resultsDir, 'filler.bin'));
    },
  }).then(
    (index) => ({ index, error: undefined }),
    (error: Error) => ({ index: undefined, error }),
  );
  assert.ok(filled, 'the first run ended');
  const files = await assertEveryJsonParses(resultsDir);
  const onDisk = resultsIndexSchema.parse(JSON.parse(await readFile(join(resultsDir, 'results_index.json'), 'utf8')));
  const first = onDisk.runs[0];
  assert.equal(first?.status, 'completed', 'the run finished before the disk filled is kept');
  loadResultSchema.parse(JSON.parse(await readFile(join(resultsDir, first!.stressFile!), 'utf8')));
  const message = outcome.error?.message ?? outcome.index?.runs[1]?.error ?? '';
  assert.match(message, /no space left|ENOSPC/i, `a clear error, got ${JSON.stringify(message)}`);
  assert.ok(!files.some((file) => file.endsWith('.tmp')), 'no temporary file is left behind');
});

test('a backend killed during its warm-up: that run fails as a crash, writes no result, the next run starts a fresh backend', { timeout: 90_000 }, async () => {
  const resultsDir = join(workDir, 'killed-in-warm-up');
  let killedPid: number | undefined;
  const pids: number[] = [];
  const index = await runComparison(context(resultsDir, { batchSizes: [1, 2], warmup: 3 }), {
    onBackendReady: (_run, backend) => pids.push(backend.pid!),
    onProgress: (progress) => {
      if (killedPid !== undefined || progress.phase !== 'warm-up' || progress.elapsedSeconds < 0.5) return;
      killedPid = pids[0];
      process.kill(killedPid!, 'SIGKILL');
    },
  });
  assert.ok(killedPid !== undefined, 'the crash was injected during the warm-up');
  const [crashed, next] = index.runs;
  assert.equal(crashed?.status, 'failed');
  assert.match(crashed?.error ?? '', /crashed mid-run \(killed by SIGKILL\)/);
  assert.equal(crashed?.stressFile, undefined);
  assert.equal(crashed?.gpuFile, undefined, 'no GPU recording for a load that never started');
  assert.equal(next?.status, 'completed');
  assert.notEqual(pids[1], killedPid, 'the next run has its own backend process');
  const files = await assertEveryJsonParses(resultsDir);
  assert.deepEqual(files.filter((file) => file.startsWith('stress_')), [next!.stressFile]);
});

async function fillDisk(path: string): Promise<void> {
  const block = Buffer.alloc(16 * 1024);
  const chunks: Buffer[] = [];
  for (let written = 0; written < 2 * 1024 * 1024; written += block.length) chunks.push(block);
  await writeFile(path, Buffer.concat(chunks)).catch(() => {});
  assert.ok(existsSync(path));
}
