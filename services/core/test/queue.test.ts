import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenizedBatch } from '../src/backend.js';
import type { BatchingConfig } from '../src/config.js';
import { EmbedError } from '../src/errors.js';
import { ServiceMetrics } from '../src/metrics.js';
import { BatchQueue, type BatchMemoryLimit, type QueuedRequest } from '../src/queue.js';

/**
 * A deterministic in-test backend: row i of a batch embeds to [first token id, row length].
 * Batches are held until the test releases them, so tests control concurrency without timers.
 */
class HeldBackend {
  readonly batches: TokenizedBatch[] = [];
  private readonly releases: Array<(error?: Error) => void> = [];

  embed(batch: TokenizedBatch): Promise<Float32Array[]> {
    this.batches.push(batch);
    return new Promise((resolve, reject) => {
      this.releases.push((error) => {
        if (error) reject(error);
        else resolve(batch.inputIds.map((ids) => Float32Array.of(ids[0]!, ids.length)));
      });
    });
  }

  /** Completes the oldest running batch and lets the queue react. */
  async releaseNext(error?: Error): Promise<void> {
    const release = this.releases.shift();
    assert.ok(release, 'no batch is running');
    release(error);
    await settleMicrotasks();
  }

  async releaseAll(): Promise<void> {
    while (this.releases.length > 0) await this.releaseNext();
  }
}

async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const config = (overrides: Partial<BatchingConfig> = {}): BatchingConfig => ({
  enabled: true,
  maxBatchTokens: 1000,
  maxBatchRequests: 100,
  maxQueue: 100,
  ...overrides,
});

/** A row whose first id identifies it and whose length is `length`. */
function row(id: number, length: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => (i === 0 ? id : 0));
}

function request(rows: Int32Array[], signal?: AbortSignal): QueuedRequest {
  return { inputIds: rows, signal, timings: { queueMs: 0, inferenceMs: 0 } };
}

function ids(batch: TokenizedBatch): number[] {
  return batch.inputIds.map((ids) => ids[0]!);
}

/** A memory estimate that is easy to follow by hand: rows x longest^2, the shape of the attention term. */
const memoryLimit = (budgetBytes = Number.POSITIVE_INFINITY): BatchMemoryLimit => ({
  budgetBytes,
  activationBytes: (rows, longest) => rows * longest * longest,
});

function setup(batching: Partial<BatchingConfig> = {}, parallelism = 1, memoryBudget?: number) {
  const backend = new HeldBackend();
  const metrics = new ServiceMetrics('test');
  const queue = new BatchQueue(backend, config(batching), memoryLimit(memoryBudget), parallelism, metrics);
  return { backend, metrics, queue };
}

describe('BatchQueue', () => {
  it('coalesces requests that arrive while a batch runs into one batch', async () => {
    const { backend, queue } = setup();
    const first = queue.enqueue(request([row(1, 3)]));
    const second = queue.enqueue(request([row(2, 3), row(3, 3)]));
    const third = queue.enqueue(request([row(4, 3)]));
    assert.equal(backend.batches.length, 1, 'only the first request runs at once with parallelism 1');
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[1]!), [2, 3, 4]);
    await backend.releaseAll();
    assert.deepEqual((await first).map((r) => r[0]), [1]);
    assert.deepEqual((await second).map((r) => r[0]), [2, 3]);
    assert.deepEqual((await third).map((r) => r[0]), [4]);
  });

  it('cuts batches by padded tokens (rows x longest row)', async () => {
    const { backend, queue } = setup({ maxBatchTokens: 20 });
    const blocker = queue.enqueue(request([row(0, 1)]));
    const waiting = [1, 2, 3, 4, 5].map((id) => queue.enqueue(request([row(id, 5)])));
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[1]!), [1, 2, 3, 4], '4 rows x 5 tokens fill the 20-token budget');
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[2]!), [5]);
    await backend.releaseAll();
    await Promise.all([blocker, ...waiting]);
  });

  it('cuts batches by the row limit', async () => {
    const { backend, queue } = setup({ maxBatchRequests: 2 });
    const all = [queue.enqueue(request([row(0, 1)])), ...[1, 2, 3].map((id) => queue.enqueue(request([row(id, 1)])))];
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[1]!), [1, 2]);
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[2]!), [3]);
    await backend.releaseAll();
    await Promise.all(all);
  });

  it('groups rows of similar length around the oldest row, and sorts each batch by length', async () => {
    const { backend, queue } = setup({ maxBatchRequests: 3 });
    const blocker = queue.enqueue(request([row(0, 1)]));
    const lengths = { 1: 50, 2: 2, 3: 48, 4: 3, 5: 49, 6: 1 } as const;
    const waiting = Object.entries(lengths).map(([id, length]) => queue.enqueue(request([row(Number(id), length)])));
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[1]!), [3, 5, 1], 'the oldest row (50 tokens) goes with the other long rows');
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[2]!), [6, 2, 4]);
    await backend.releaseAll();
    await Promise.all([blocker, ...waiting]);
  });

  it('runs a request bigger than the token budget on its own', async () => {
    const { backend, queue } = setup({ maxBatchTokens: 4 });
    const result = queue.enqueue(request([row(7, 10)]));
    assert.deepEqual(ids(backend.batches[0]!), [7]);
    await backend.releaseAll();
    assert.deepEqual(await result, [Float32Array.of(7, 10)]);
  });

  it('gives a request spanning several batches its own rows back in input order', async () => {
    const { backend, metrics, queue } = setup({ maxBatchRequests: 2 });
    const blocker = queue.enqueue(request([row(0, 1)]));
    const lengths = [5, 1, 4, 2, 3];
    const spanning = queue.enqueue(request(lengths.map((length, i) => row(10 + i, length))));
    const other = queue.enqueue(request([row(99, 6)]));
    await backend.releaseAll();
    await backend.releaseAll();
    await backend.releaseAll();
    await backend.releaseAll();
    assert.deepEqual(
      (await spanning).map((r) => [r[0], r[1]]),
      lengths.map((length, i) => [10 + i, length]),
    );
    assert.deepEqual((await other).map((r) => r[0]), [99]);
    await blocker;
    const batchSizes = (await metrics.batchSize.get()).values as Array<{ metricName?: string; value: number }>;
    const count = batchSizes.find((v) => v.metricName === 'embedbench_batch_size_count')!.value;
    assert.equal(count, backend.batches.length);
    assert.ok(backend.batches.every((batch) => batch.inputIds.length <= 2));
  });

  it('answers overloaded at once when every permit is taken, and admits again after a release', () => {
    const { queue } = setup({ maxQueue: 2 });
    const permits = [queue.admit(), queue.admit()];
    assert.throws(
      () => queue.admit(),
      (error: unknown) => error instanceof EmbedError && error.type === 'overloaded' && error.retryAfterSeconds === 1,
    );
    permits[0]!.release();
    permits[0]!.release();
    assert.equal(queue.admittedCount, 1, 'a permit released twice frees one slot only');
    assert.doesNotThrow(() => queue.admit());
  });

  it('drops the rows of a request whose client disconnected before they reach the backend', async () => {
    const { backend, queue } = setup();
    const blocker = queue.enqueue(request([row(0, 1)]));
    const controller = new AbortController();
    const gone = queue.enqueue(request([row(1, 1), row(2, 1)], controller.signal));
    const kept = queue.enqueue(request([row(3, 1)]));
    controller.abort();
    await assert.rejects(gone, (error: unknown) => error instanceof EmbedError && error.type === 'client_closed');
    await backend.releaseNext();
    assert.deepEqual(ids(backend.batches[1]!), [3]);
    await backend.releaseAll();
    await Promise.all([blocker, kept]);
  });

  it('with batching off, sends every request as its own batch', async () => {
    const { backend, queue } = setup({ enabled: false, maxBatchRequests: 1, maxBatchTokens: 1 });
    const all = [
      queue.enqueue(request([row(1, 1)])),
      queue.enqueue(request([row(2, 4), row(3, 4)])),
      queue.enqueue(request([row(4, 1)])),
    ];
    await backend.releaseAll();
    await backend.releaseAll();
    await backend.releaseAll();
    assert.deepEqual(backend.batches.map(ids), [[1], [2, 3], [4]]);
    await Promise.all(all);
  });

  it('keeps every batch within the memory budget: long rows go in pairs while short ones still batch', async () => {
    const { backend, queue } = setup({}, 1, 200);
    const blocker = queue.enqueue(request([row(0, 1)]));
    const long = queue.enqueue(request([row(1, 10), row(2, 10), row(3, 10)]));
    const short = queue.enqueue(request([4, 5, 6, 7, 8, 9].map((id) => row(id, 3))));
    await backend.releaseAll();
    await backend.releaseAll();
    await backend.releaseAll();
    assert.deepEqual(backend.batches.map(ids), [[0], [1, 2], [9, 3], [4, 5, 6, 7, 8]]);
    for (const batch of backend.batches) {
      const longest = Math.max(...batch.inputIds.map((ids) => ids.length));
      assert.ok(batch.inputIds.length * longest * longest <= 200, `batch ${ids(batch).join(',')} is within the budget`);
    }
    await Promise.all([blocker, long, short]);
  });

  it('with batching off, splits one request that would exceed the memory budget', async () => {
    const { backend, queue } = setup({ enabled: false }, 1, 200);
    const all = [queue.enqueue(request([row(1, 10), row(2, 10), row(3, 10)])), queue.enqueue(request([row(4, 3)]))];
    await backend.releaseAll();
    await backend.releaseAll();
    await backend.releaseAll();
    assert.deepEqual(backend.batches.map(ids), [[1, 2], [3], [4]]);
    await Promise.all(all);
  });

  it('runs up to `parallelism` batches at once', async () => {
    const { backend, queue } = setup({ enabled: false }, 2);
    const all = [1, 2, 3].map((id) => queue.enqueue(request([row(id, 1)])));
    assert.equal(backend.batches.length, 2);
    await backend.releaseNext();
    assert.equal(backend.batches.length, 3);
    await backend.releaseAll();
    await Promise.all(all);
  });

  it('rejects every request of a failed batch with a backend error and keeps serving', async () => {
    const outcomes: Array<Error | undefined> = [];
    const backend = new HeldBackend();
    const queue = new BatchQueue(backend, config(), memoryLimit(), 1, new ServiceMetrics('test'), (error) => outcomes.push(error));
    const failing = queue.enqueue(request([row(1, 1)]));
    await backend.releaseNext(new Error('worker died'));
    await assert.rejects(failing, (error: unknown) => error instanceof EmbedError && error.type === 'backend');
    const next = queue.enqueue(request([row(2, 1)]));
    await backend.releaseNext();
    assert.deepEqual((await next).map((r) => r[0]), [2]);
    assert.deepEqual(outcomes.map((error) => error?.message), ['worker died', undefined]);
  });
});
