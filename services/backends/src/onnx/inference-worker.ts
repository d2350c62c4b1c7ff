import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerSetup } from './messages.js';

export type ReadyMessage = Extract<FromWorker, { type: 'ready' }>;
export type LoadFailedMessage = Extract<FromWorker, { type: 'load-failed' }>;

/** A worker that failed to load, with the providers it skipped on the way. */
export class WorkerLoadError extends Error {
  constructor(readonly failure: LoadFailedMessage) {
    super(failure.message);
    this.name = 'WorkerLoadError';
  }
}

/** In-flight batches of a worker that died are rejected with this. */
export class WorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashedError';
  }
}

interface Pending {
  resolve(rows: Float32Array[]): void;
  reject(error: Error): void;
}

/** The worker thread's script; tests substitute one that can be made to die. */
export const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

/** The main-thread handle of one inference worker thread and the batches it is running. */
export class InferenceWorker {
  /** Settles once the worker has loaded and warmed up its session, or failed to. */
  readonly loaded: Promise<ReadyMessage>;
  private readonly worker: Worker;
  private readonly inFlight = new Map<number, Pending>();
  private nextId = 0;
  private lastError: Error | undefined;
  private exited = false;
  private whenDrained: (() => void) | undefined;

  constructor(
    script: URL,
    setup: WorkerSetup,
    /** Called if the thread ends by itself after it had loaded, once its batches were rejected. */
    onUnexpectedExit: (worker: InferenceWorker, reason: string) => void,
  ) {
    this.worker = new Worker(script, { workerData: setup });
    let terminatedOnPurpose = false;
    let becameReady = false;
    this.terminate = async () => {
      terminatedOnPurpose = true;
      await this.worker.terminate();
    };
    this.loaded = new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            becameReady = true;
            return resolve(message);
          case 'load-failed':
            return reject(new WorkerLoadError(message));
          case 'embedded':
            return this.settle(message.id)?.resolve(splitRows(message.embeddings, setup.hiddenSize));
          case 'failed':
            return this.settle(message.id)?.reject(new Error(`onnx inference failed: ${message.message}`));
        }
      });
      this.worker.on('error', (error) => {
        this.lastError = error;
      });
      this.worker.on('exit', (code) => {
        this.exited = true;
        const cause = this.lastError ? `: ${this.lastError.message}` : '';
        const reason = `onnx inference worker exited with code ${code}${cause}`;
        reject(new Error(`${reason} while loading the model`));
        for (const id of [...this.inFlight.keys()]) {
          this.settle(id)?.reject(new WorkerCrashedError(`${reason}; its batch was lost`));
        }
        if (becameReady && !terminatedOnPurpose) onUnexpectedExit(this, reason);
      });
    });
  }

  /** Ends the thread; batches still running are rejected. */
  readonly terminate: () => Promise<void>;

  get load(): number {
    return this.inFlight.size;
  }

  run(inputIds: readonly Int32Array[]): Promise<Float32Array[]> {
    if (this.exited) return Promise.reject(new WorkerCrashedError('onnx inference worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      const message: ToWorker = { type: 'embed', id, inputIds };
      this.worker.postMessage(message);
    });
  }

  /** Resolves when no batch is running. */
  drained(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.whenDrained = resolve;
    });
  }

  private settle(id: number): Pending | undefined {
    const pending = this.inFlight.get(id);
    this.inFlight.delete(id);
    if (this.inFlight.size === 0) this.whenDrained?.();
    return pending;
  }
}

function splitRows(embeddings: Float32Array, hiddenSize: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let offset = 0; offset < embeddings.length; offset += hiddenSize) {
    rows.push(embeddings.subarray(offset, offset + hiddenSize));
  }
  return rows;
}
