import type { Backend } from './backend.js';
import type { BatchingConfig } from './config.js';
import { EmbedError } from './errors.js';
import type { ServiceMetrics } from './metrics.js';

/** The activation memory a batch may use, and the estimate it is checked with. */
export interface BatchMemoryLimit {
  readonly budgetBytes: number;
  activationBytes(rows: number, longest: number): number;
}

/** Seconds a rejected client is told to wait (Retry-After). */
const OVERLOAD_RETRY_AFTER_SECONDS = 1;
/**
 * Rows considered when cutting a batch, as a multiple of the batch row limit: enough choice to
 * group rows of similar length, while bounding the sort and how far a row can be overtaken.
 */
const CANDIDATE_WINDOW_FACTOR = 4;

/** Milliseconds spent per phase of one request; 0 for a phase that did not run. */
export interface PhaseTimings {
  queueMs: number;
  inferenceMs: number;
}

export interface QueuedRequest {
  readonly inputIds: readonly Int32Array[];
  /** Aborted when the client goes away: rows not yet sent to the backend are dropped. */
  readonly signal?: AbortSignal | undefined;
  /** Filled in as phases complete, so a failed request still reports what it spent. */
  readonly timings: PhaseTimings;
}

/** The right to enqueue one request; taken before any work and released when it settles. */
export interface AdmissionPermit {
  release(): void;
}

interface PendingRequest {
  readonly request: QueuedRequest;
  readonly rows: Float32Array[];
  readonly enqueuedAt: number;
  rowsWaiting: number;
  rowsDone: number;
  firstBatchAt: number | undefined;
  settled: boolean;
  resolve(rows: Float32Array[]): void;
  reject(error: Error): void;
}

interface QueuedRow {
  readonly owner: PendingRequest;
  readonly index: number;
  /** Arrival order, so the oldest row always makes the next batch. */
  readonly sequence: number;
  readonly length: number;
}

/**
 * The one batching queue in front of every backend. Requests are admitted under a bounded permit
 * count (no permit: immediate 'overloaded'); their rows wait in arrival order and are cut into
 * batches by a padded-token budget (rows x longest row), a row limit and an activation memory
 * budget. Each batch holds the oldest waiting row plus the rows nearest to it in length, so long
 * and short texts are not padded together and no row waits forever. Up to `parallelism` batches
 * run at once; the next batch is cut the moment a slot frees, and since rows are tokenized at
 * admission, tokenizing the next requests overlaps with inference. With batching off, a batch
 * holds rows of one request only, cut by the memory budget alone.
 */
export class BatchQueue {
  private readonly waiting: QueuedRow[] = [];
  private readonly waitingRequests: PendingRequest[] = [];
  private admitted = 0;
  private running = 0;
  private nextSequence = 0;
  private closed = false;

  constructor(
    private readonly backend: Pick<Backend, 'embed'>,
    private readonly config: BatchingConfig,
    private readonly memory: BatchMemoryLimit,
    private readonly parallelism: number,
    private readonly metrics: ServiceMetrics,
    /** Called after every batch: whether the backend succeeded, for the health state. */
    private readonly onBatchOutcome: (error: Error | undefined) => void = () => {},
  ) {}

  /** Takes an admission permit, or throws 'overloaded' at once when the queue is full. */
  admit(): AdmissionPermit {
    if (this.closed) throw new EmbedError('not_ready', 'the service is shutting down');
    if (this.admitted >= this.config.maxQueue) {
      throw new EmbedError('overloaded', `the queue is full (${this.config.maxQueue} requests); retry later`, {
        retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS,
      });
    }
    this.admitted++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.admitted--;
      },
    };
  }

  /** Requests holding a permit. */
  get admittedCount(): number {
    return this.admitted;
  }

  /** Resolves with one un-normalized row per input, in input order. */
  enqueue(request: QueuedRequest): Promise<Float32Array[]> {
    if (request.inputIds.length === 0) return Promise.resolve([]);
    return new Promise<Float32Array[]>((resolve, reject) => {
      const pending: PendingRequest = {
        request,
        rows: new Array<Float32Array>(request.inputIds.length),
        enqueuedAt: performance.now(),
        rowsWaiting: request.inputIds.length,
        rowsDone: 0,
        firstBatchAt: undefined,
        settled: false,
        resolve,
        reject,
      };
      if (request.signal?.aborted) {
        reject(new EmbedError('client_closed', 'the client closed the request'));
        return;
      }
      request.signal?.addEventListener('abort', () => this.cancel(pending), { once: true });
      request.inputIds.forEach((ids, index) => {
        this.waiting.push({ owner: pending, index, sequence: this.nextSequence++, length: ids.length });
      });
      this.waitingRequests.push(pending);
      this.metrics.queueDepth.set(this.waitingRequests.length);
      this.dispatch();
    });
  }

  /** Stops admitting; batches already waiting still run. */
  close(): void {
    this.closed = true;
  }

  private cancel(pending: PendingRequest): void {
    if (pending.settled) return;
    this.settle(pending, new EmbedError('client_closed', 'the client closed the request'));
    this.dispatch();
  }

  private dispatch(): void {
    while (this.running < this.parallelism) {
      const rows = this.cutBatch();
      if (rows.length === 0) return;
      this.run(rows);
    }
  }

  private cutBatch(): QueuedRow[] {
    this.dropCancelledRows();
    if (this.waiting.length === 0) return [];
    const { enabled, maxBatchRequests, maxBatchTokens } = this.config;
    const owner = this.waiting[0]!.owner;
    const candidates = (
      enabled ? this.waiting.slice(0, maxBatchRequests * CANDIDATE_WINDOW_FACTOR) : this.waiting.filter((row) => row.owner === owner)
    ).sort((a, b) => a.length - b.length || a.sequence - b.sequence);
    const oldest = candidates.findIndex((row) => row.sequence === this.waiting[0]!.sequence);
    let low = oldest;
    let high = oldest;
    const fits = (from: number, to: number) => {
      const rows = to - from + 1;
      const longest = candidates[to]!.length;
      const withinLimits = !enabled || (rows <= maxBatchRequests && rows * longest <= maxBatchTokens);
      return withinLimits && this.memory.activationBytes(rows, longest) <= this.memory.budgetBytes;
    };
    for (;;) {
      const below = low > 0 && fits(low - 1, high) ? candidates[low - 1]! : undefined;
      const above = high < candidates.length - 1 && fits(low, high + 1) ? candidates[high + 1]! : undefined;
      if (below === undefined && above === undefined) break;
      if (above === undefined || (below !== undefined && below.sequence < above.sequence)) low--;
      else high++;
    }
    const chosen = new Set(candidates.slice(low, high + 1));
    return this.take((row) => chosen.has(row));
  }

  /** Removes the matching rows from the waiting list; returns them shortest first. */
  private take(predicate: (row: QueuedRow) => boolean): QueuedRow[] {
    const taken: QueuedRow[] = [];
    let kept = 0;
    for (const row of this.waiting) {
      if (predicate(row)) taken.push(row);
      else this.waiting[kept++] = row;
    }
    this.waiting.length = kept;
    const now = performance.now();
    for (const row of taken) {
      const owner = row.owner;
      owner.rowsWaiting--;
      if (owner.firstBatchAt === undefined) {
        owner.firstBatchAt = now;
        owner.request.timings.queueMs = now - owner.enqueuedAt;
        this.metrics.queueDuration.observe((now - owner.enqueuedAt) / 1000);
      }
      if (owner.rowsWaiting === 0) this.removeWaitingRequest(owner);
    }
    return taken.sort((a, b) => a.length - b.length || a.sequence - b.sequence);
  }

  private dropCancelledRows(): void {
    if (this.waiting.every((row) => !row.owner.settled)) return;
    const live = this.waiting.filter((row) => !row.owner.settled);
    this.waiting.length = 0;
    this.waiting.push(...live);
  }

  private removeWaitingRequest(pending: PendingRequest): void {
    const position = this.waitingRequests.indexOf(pending);
    if (position >= 0) this.waitingRequests.splice(position, 1);
    this.metrics.queueDepth.set(this.waitingRequests.length);
  }

  private run(rows: QueuedRow[]): void {
    this.running++;
    const longest = rows[rows.length - 1]!.length;
    this.metrics.batchSize.observe(rows.length);
    this.metrics.batchTokens.observe(rows.length * longest);
    const batch = { inputIds: rows.map((row) => row.owner.request.inputIds[row.index]!) };
    const startedAt = performance.now();
    let outcome: Promise<Float32Array[]>;
    try {
      outcome = this.backend.embed(batch);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome
      .then((embeddings) => {
        if (embeddings.length !== rows.length) {
          throw new Error(`backend returned ${embeddings.length} rows for a batch of ${rows.length}`);
        }
        this.finishBatch(rows, startedAt, embeddings);
        this.onBatchOutcome(undefined);
      })
      .catch((error: unknown) => {
        const cause = error instanceof Error ? error : new Error(String(error));
        this.finishBatch(rows, startedAt, new EmbedError('backend', `inference failed: ${cause.message}`, { cause }));
        this.onBatchOutcome(cause);
      })
      .finally(() => {
        this.running--;
        this.dispatch();
      });
  }

  private finishBatch(rows: QueuedRow[], startedAt: number, result: Float32Array[] | EmbedError): void {
    const finishedAt = performance.now();
    this.metrics.inferenceDuration.observe((finishedAt - startedAt) / 1000);
    rows.forEach((row, i) => {
      const owner = row.owner;
      if (owner.settled) return;
      owner.request.timings.inferenceMs = finishedAt - owner.firstBatchAt!;
      if (result instanceof EmbedError) {
        this.settle(owner, result);
        return;
      }
      owner.rows[row.index] = result[i]!;
      owner.rowsDone++;
      if (owner.rowsDone === owner.rows.length) {
        owner.settled = true;
        owner.resolve(owner.rows);
      }
    });
  }

  private settle(pending: PendingRequest, error: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.rowsWaiting > 0) this.removeWaitingRequest(pending);
    pending.reject(error);
  }
}
