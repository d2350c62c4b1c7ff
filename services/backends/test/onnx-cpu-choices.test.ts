import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { OnnxBackend } from '../src/onnx/index.js';
import { chooseParallelism, threadsPerCore } from '../src/onnx/parallelism.js';
import { backendOptions, capturingLogger, copyModel, TEST_LIMITS, testModelDir, tokenize, type LogEntry, VARIED_TEXTS } from './support.js';

/** A private copy of the tiny model without any cache the shared copy may have gathered. */
async function freshModel(): Promise<{ dir: string; cacheDir: string; remove(): Promise<void> }> {
  const copy = await copyModel(testModelDir('modernbert'));
  const cacheDir = join(copy.dir, 'onnx', 'embedbench-cache');
  await rm(cacheDir, { recursive: true, force: true });
  return { ...copy, cacheDir };
}

/** Moves a file's modification time, as a re-exported model would. */
async function touch(path: string): Promise<void> {
  const later = new Date(Date.now() + 60_000);
  await utimes(path, later, later);
}

function readyEntry(entries: LogEntry[]): LogEntry {
  const entry = entries.find((candidate) => candidate.msg === 'onnx backend ready');
  assert.ok(entry, `no 'onnx backend ready' log line: ${JSON.stringify(entries)}`);
  return entry;
}

describe('onnx dtype auto on the CPU: int8 when it agrees with fp32', () => {
  let model: Awaited<ReturnType<typeof freshModel>>;
  before(async () => {
    model = await freshModel();
  });
  after(() => model.remove());

  it('chooses int8, reports the measured cosine, and caches it beside the model', async () => {
    const backend = new OnnxBackend(backendOptions(model.dir, { dtype: 'auto' }));
    try {
      const info = await backend.start(TEST_LIMITS);
      assert.equal(info.dtype, 'q8');
      assert.equal(info.precisionChoice?.dtype, 'q8');
      assert.ok(info.precisionChoice.cosine !== null && info.precisionChoice.cosine >= 0.99, JSON.stringify(info.precisionChoice));
      assert.match(info.precisionChoice.reason, /int8 agrees/);
      const cached = JSON.parse(await readFile(join(model.cacheDir, 'int8-parity.json'), 'utf8')) as { cosine: number };
      assert.equal(cached.cosine, info.precisionChoice.cosine);
    } finally {
      await backend.close();
    }
  });

  it('refuses int8 when parity must be perfect (minimum cosine 1.0)', async () => {
    const backend = new OnnxBackend(backendOptions(model.dir, { dtype: 'auto', int8MinCosine: 1 }));
    try {
      const info = await backend.start(TEST_LIMITS);
      assert.equal(info.dtype, 'fp32');
      assert.equal(info.precisionChoice?.dtype, 'fp32');
      assert.ok(info.precisionChoice.cosine !== null && info.precisionChoice.cosine < 1);
      assert.match(info.precisionChoice.reason, /int8 refused/);
    } finally {
      await backend.close();
    }
  });

  it('trusts the cached cosine until a model file changes', async () => {
    const cacheFile = join(model.cacheDir, 'int8-parity.json');
    const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as { cosine: number };
    await writeFile(cacheFile, JSON.stringify({ ...entry, cosine: 0.5 }));
    const cachedRun = new OnnxBackend(backendOptions(model.dir, { dtype: 'auto' }));
    try {
      const info = await cachedRun.start(TEST_LIMITS);
      assert.equal(info.dtype, 'fp32');
      assert.equal(info.precisionChoice?.cosine, 0.5);
    } finally {
      await cachedRun.close();
    }
    await touch(join(model.dir, 'onnx', 'model_quantized.onnx'));
    const remeasured = new OnnxBackend(backendOptions(model.dir, { dtype: 'auto' }));
    try {
      const info = await remeasured.start(TEST_LIMITS);
      assert.equal(info.dtype, 'q8');
      assert.ok(info.precisionChoice?.cosine !== null && info.precisionChoice!.cosine >= 0.99);
    } finally {
      await remeasured.close();
    }
  });

  it('leaves an explicit dtype alone and reports no choice', async () => {
    const backend = new OnnxBackend(backendOptions(model.dir, { dtype: 'fp32' }));
    try {
      const info = await backend.start(TEST_LIMITS);
      assert.equal(info.dtype, 'fp32');
      assert.equal(info.precisionChoice, undefined);
    } finally {
      await backend.close();
    }
  });
});

describe('onnx optimized graph cache', () => {
  let model: Awaited<ReturnType<typeof freshModel>>;
  before(async () => {
    model = await freshModel();
  });
  after(() => model.remove());

  async function startOnce(): Promise<{ optimizedGraph: unknown; rows: Float32Array[] }> {
    const { logger, entries } = capturingLogger();
    const backend = new OnnxBackend(backendOptions(model.dir, { logger }));
    try {
      await backend.start(TEST_LIMITS);
      const inputIds = await tokenize(model.dir, VARIED_TEXTS);
      const rows = await backend.embed({ inputIds });
      return { optimizedGraph: readyEntry(entries).optimizedGraph, rows };
    } finally {
      await backend.close();
    }
  }

  async function cachedGraphs(): Promise<string[]> {
    return (await readdir(model.cacheDir)).filter((name) => name.startsWith('model.cpu.optimized.'));
  }

  it('saves the optimized graph, reloads it unchanged on the next start, and replaces it when the model changes', async () => {
    const first = await startOnce();
    assert.equal(first.optimizedGraph, 'optimized and cached');
    const [graph] = await cachedGraphs();
    assert.ok(graph, 'no optimized graph was cached');
    const savedAt = (await stat(join(model.cacheDir, graph))).mtimeMs;

    const second = await startOnce();
    assert.equal(second.optimizedGraph, 'loaded from cache');
    assert.deepEqual(await cachedGraphs(), [graph]);
    assert.equal((await stat(join(model.cacheDir, graph))).mtimeMs, savedAt);
    second.rows.forEach((row, i) => assert.ok(cosineSimilarity(row, first.rows[i]!) > 0.9999, `row ${i} differs with the cached graph`));

    await touch(join(model.dir, 'onnx', 'model.onnx'));
    const third = await startOnce();
    assert.equal(third.optimizedGraph, 'optimized and cached');
    const graphs = await cachedGraphs();
    assert.equal(graphs.length, 1, `stale graphs were left: ${graphs.join(', ')}`);
    assert.notEqual(graphs[0], graph);
  });

  it('rebuilds a corrupt cached graph instead of failing', async () => {
    const [graph] = await cachedGraphs();
    await writeFile(join(model.cacheDir, graph!), 'not an onnx protobuf');
    const { optimizedGraph, rows } = await startOnce();
    assert.equal(optimizedGraph, 'optimized and cached');
    assert.equal(rows.length, VARIED_TEXTS.length);
  });
});

describe('onnx workers x threads rule', () => {
  const unset = { workers: undefined, intraOpThreads: undefined };
  const smt2 = (logical: number) => ({ logical, threadsPerCore: 2 });
  const noSmt = (logical: number) => ({ logical, threadsPerCore: 1 });

  it('gives every physical core a worker with one thread per hardware thread on the CPU', () => {
    assert.deepEqual(chooseParallelism(unset, smt2(16), false), { workers: 8, intraOpThreads: 2 });
    assert.deepEqual(chooseParallelism(unset, noSmt(2), false), { workers: 2, intraOpThreads: 1 });
    assert.deepEqual(chooseParallelism(unset, noSmt(16), false), { workers: 16, intraOpThreads: 1 });
    assert.deepEqual(chooseParallelism(unset, smt2(1), false), { workers: 1, intraOpThreads: 1 });
    assert.deepEqual(chooseParallelism(unset, smt2(7), false), { workers: 3, intraOpThreads: 2 });
  });

  it('lets an explicit setting win and shares the logical cores by it', () => {
    assert.deepEqual(chooseParallelism({ workers: 4, intraOpThreads: undefined }, smt2(16), false), { workers: 4, intraOpThreads: 4 });
    assert.deepEqual(chooseParallelism({ workers: undefined, intraOpThreads: 4 }, smt2(16), false), { workers: 4, intraOpThreads: 4 });
    assert.deepEqual(chooseParallelism({ workers: 3, intraOpThreads: 5 }, smt2(16), false), { workers: 3, intraOpThreads: 5 });
  });

  it('keeps one worker with every core on a GPU provider', () => {
    assert.deepEqual(chooseParallelism(unset, smt2(16), true), { workers: 1, intraOpThreads: 16 });
  });

  it('reads a whole number of hardware threads per core from this machine', () => {
    const perCore = threadsPerCore();
    assert.ok(Number.isInteger(perCore) && perCore >= 1 && perCore <= 8, String(perCore));
  });
});
