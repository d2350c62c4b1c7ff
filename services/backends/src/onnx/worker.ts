/** One inference worker thread: owns an InferenceSession and runs batches one after another. */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { bucketFor, lengthBuckets, padBatch, warmupShapes } from '../padding.js';
import type { FromWorker, ToWorker, WorkerSetup } from './messages.js';
import { NoProviderLoadedError, openSessionWithFallback } from './session.js';
import { MEAN_POOLED_OUTPUT } from './mean-pooling-graph.js';


const port = parentPort!;
const setup = workerData as WorkerSetup;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function embed(session: InferenceSession, rows: readonly Int32Array[], buckets: readonly number[] | undefined): Promise<Float32Array> {
  const longest = Math.max(...rows.map((row) => row.length));
  const padded = padBatch(rows, setup.padTokenId, buckets === undefined ? undefined : bucketFor(longest, buckets));
  const dims = [padded.rows, padded.sequenceLength];
  const feeds: Record<string, Tensor> = {
    input_ids: new Tensor('int64', padded.inputIds, dims),
    attention_mask: new Tensor('int64', padded.attentionMask, dims),
  };
  if (session.inputNames.includes('token_type_ids')) {
    feeds.token_type_ids = new Tensor('int64', new BigInt64Array(padded.inputIds.length), dims);
  }
  const outputs = await session.run(feeds, [MEAN_POOLED_OUTPUT]);
  const pooled = outputs[MEAN_POOLED_OUTPUT]!;
  if (pooled.dims.length !== 2 || pooled.dims[0] !== padded.rows || pooled.dims[1] !== setup.hiddenSize) {
    throw new Error(`the model's hidden states pool to [${pooled.dims.join(', ')}], expected [${padded.rows}, ${setup.hiddenSize}]`);
  }
  return pooled.data as Float32Array;
}

function checkInputs(session: InferenceSession): void {
  for (const name of ['input_ids', 'attention_mask']) {
    const meta = session.inputMetadata.find((entry) => entry.name === name);
    if (!meta) throw new Error(`the model has no ${name} input (inputs: ${session.inputNames.join(', ')})`);
    if (meta.isTensor && meta.type !== 'int64') throw new Error(`input ${name} is ${meta.type}, expected int64`);
  }
}

/** WebGPU compiles shaders for the shapes it meets: its batches are padded to a few lengths, each run once at start. */
async function compileShapes(session: InferenceSession, buckets: readonly number[]): Promise<void> {
  for (const { rows, length } of warmupShapes(buckets)) {
    await embed(session, Array.from({ length: rows }, () => new Int32Array(length).fill(setup.padTokenId)), buckets);
  }
}

async function load(): Promise<{ session: InferenceSession; buckets: readonly number[] | undefined } | undefined> {
  try {
    const opened = await openSessionWithFallback(setup);
    checkInputs(opened.session);
    const buckets = opened.attempt.provider === 'webgpu' ? lengthBuckets(setup.maxSequenceLength) : undefined;
    const startedAt = performance.now();
    if (buckets) await compileShapes(opened.session, buckets);
    const { provider, dtype, modelFile } = opened.attempt;
    post({
      type: 'ready',
      provider,
      dtype,
      modelFile,
      optimizedGraph: opened.optimizedGraph,
      skipped: opened.skipped,
      warmedLengths: buckets ?? [],
      warmupSeconds: (performance.now() - startedAt) / 1000,
    });
    return { session: opened.session, buckets };
  } catch (error) {
    const skipped = error instanceof NoProviderLoadedError ? error.skipped : [];
    post({ type: 'load-failed', message: (error as Error).message, skipped });
    return undefined;
  }
}

const loaded = await load();
if (loaded) {
  let previous: Promise<unknown> = Promise.resolve();
  port.on('message', ({ id, inputIds }: ToWorker) => {
    previous = previous.then(() =>
      embed(loaded.session, inputIds, loaded.buckets).then(
        (embeddings) => post({ type: 'embedded', id, embeddings }, [embeddings.buffer as ArrayBuffer]),
        (error: unknown) => post({ type: 'failed', id, message: (error as Error).message }),
      ),
    );
  });
} else {
  port.close();
}
