/** One inference worker thread: owns an InferenceSession and runs batches one after another. */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { FromWorker, ToWorker, WorkerSetup } from './messages.js';
import { NoProviderLoadedError, openSessionWithFallback } from './session.js';
import { meanPool, padBatch } from './tensors.js';

const WARMUP_TOKENS = 8;

const port = parentPort!;
const setup = workerData as WorkerSetup;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function embed(session: InferenceSession, rows: readonly Int32Array[]): Promise<Float32Array> {
  const padded = padBatch(rows, setup.padTokenId);
  const dims = [padded.rows, padded.sequenceLength];
  const feeds: Record<string, Tensor> = {
    input_ids: new Tensor('int64', padded.inputIds, dims),
    attention_mask: new Tensor('int64', padded.attentionMask, dims),
  };
  if (session.inputNames.includes('token_type_ids')) {
    feeds.token_type_ids = new Tensor('int64', new BigInt64Array(padded.inputIds.length), dims);
  }
  const outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;
  const outputs = await session.run(feeds, [outputName]);
  const hidden = outputs[outputName]!;
  const hiddenSize = hidden.dims[2];
  if (hidden.dims.length !== 3 || hiddenSize !== setup.hiddenSize) {
    throw new Error(`output ${outputName} has shape [${hidden.dims.join(', ')}], expected [${dims.join(', ')}, ${setup.hiddenSize}]`);
  }
  if (hidden.type !== 'float32' && hidden.type !== 'float16') {
    throw new Error(`output ${outputName} has type ${hidden.type}, expected float32 or float16`);
  }
  return meanPool(hidden.data as Float32Array | Uint16Array, padded.lengths, padded.sequenceLength, hiddenSize);
}

function checkInputs(session: InferenceSession): void {
  for (const name of ['input_ids', 'attention_mask']) {
    const meta = session.inputMetadata.find((entry) => entry.name === name);
    if (!meta) throw new Error(`the model has no ${name} input (inputs: ${session.inputNames.join(', ')})`);
    if (meta.isTensor && meta.type !== 'int64') throw new Error(`input ${name} is ${meta.type}, expected int64`);
  }
}

async function load(): Promise<InferenceSession | undefined> {
  try {
    const opened = await openSessionWithFallback(setup);
    checkInputs(opened.session);
    await embed(opened.session, [new Int32Array(WARMUP_TOKENS).fill(setup.padTokenId)]);
    const { provider, dtype, modelFile } = opened.attempt;
    post({ type: 'ready', provider, dtype, modelFile, optimizedGraph: opened.optimizedGraph, skipped: opened.skipped });
    return opened.session;
  } catch (error) {
    const skipped = error instanceof NoProviderLoadedError ? error.skipped : [];
    post({ type: 'load-failed', message: (error as Error).message, skipped });
    return undefined;
  }
}

const session = await load();
if (session) {
  let crashOnNextBatch = false;
  let previous: Promise<unknown> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'crash-on-next-batch') {
      crashOnNextBatch = true;
      return;
    }
    if (crashOnNextBatch) process.exit(70);
    const { id, inputIds } = message;
    previous = previous.then(() =>
      embed(session, inputIds).then(
        (embeddings) => post({ type: 'embedded', id, embeddings }, [embeddings.buffer as ArrayBuffer]),
        (error: unknown) => post({ type: 'failed', id, message: (error as Error).message }),
      ),
    );
  });
} else {
  port.close();
}
