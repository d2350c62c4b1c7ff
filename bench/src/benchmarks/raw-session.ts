/**
 * `npm run bench:raw -- --model DIR --data FILE --provider webgpu`: the ceiling a service is judged
 * against. Raw onnxruntime `session.run` throughput, in-process, on length-sorted batches of
 * prepared passages, padded either to each batch's longest row or to the padded lengths the onnx
 * backend uses on WebGPU, whose kernels are compiled per shape. Each variant runs a first pass
 * (which includes compilation) and a timed second pass. Prints one JSON line per variant; a
 * measurement, not a test.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ONNX_MODEL_FILES, onnxModelFile } from '@embedbench/backends/model-files';
import { lengthBuckets, padBatch } from '@embedbench/backends/padding';
import { TextTokenizer } from '@embedbench/core/tokenization';
import { parsePassagesJsonl } from '@embedbench/loadtest/passages';
import ort from 'onnxruntime-node';


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/modernbert-base-synthetic' },
      data: { type: 'string', default: 'data/passages.jsonl' },
      provider: { type: 'string', default: 'cpu' },
      dtype: { type: 'string', default: 'fp32' },
      'batch-size': { type: 'string', default: '128' },
      passages: { type: 'string', default: '2048' },
      'max-input-tokens': { type: 'string', default: '512' },
    },
  });
  const modelDir = resolve(values.model);
  const batchSize = Number(values['batch-size']);
  const maxInputTokens = Number(values['max-input-tokens']);
  const modelFile = onnxModelFile(values.dtype);
  if (!modelFile) throw new Error(`--dtype must be one of ${Object.keys(ONNX_MODEL_FILES).join(', ')}`);
  const passages = parsePassagesJsonl(await readFile(values.data, 'utf8'), values.data).slice(0, Number(values.passages));
  const tokenizer = await TextTokenizer.load(modelDir, { maxInputTokens });
  const rows = tokenizer.encode(passages.map((passage) => passage.text), true).inputIds.sort((a, b) => a.length - b.length);
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as { pad_token_id?: number };
  const padId = config.pad_token_id ?? 0;

  ort.env.logLevel = 'error';
  const createdAt = performance.now();
  const session = await ort.InferenceSession.create(join(modelDir, modelFile), { executionProviders: [values.provider], graphOptimizationLevel: 'all' });
  const createSeconds = (performance.now() - createdAt) / 1000;
  const buckets = lengthBuckets(maxInputTokens);
  for (const padding of ['longest', 'buckets'] as const) {
    const feeds: Array<Record<string, ort.Tensor>> = [];
    let paddedTokens = 0;
    for (let start = 0; start < rows.length; start += batchSize) {
      const batch = rows.slice(start, start + batchSize);
      const longest = batch[batch.length - 1]!.length;
      const padded = padBatch(batch, padId, padding === 'buckets' ? buckets.find((length) => length >= longest) : undefined);
      const dims = [padded.rows, padded.sequenceLength];
      paddedTokens += padded.rows * padded.sequenceLength;
      const feed: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', padded.inputIds, dims),
        attention_mask: new ort.Tensor('int64', padded.attentionMask, dims),
      };
      if (session.inputNames.includes('token_type_ids')) feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(padded.inputIds.length), dims);
      feeds.push(feed);
    }
    const pass = async () => {
      for (const feed of feeds) {
        const output = await session.run(feed, ['last_hidden_state']);
        void output.last_hidden_state!.data;
      }
    };
    const firstStarted = performance.now();
    await pass();
    const firstPassSeconds = (performance.now() - firstStarted) / 1000;
    const started = performance.now();
    await pass();
    const seconds = (performance.now() - started) / 1000;
    const realTokens = rows.reduce((sum, row) => sum + row.length, 0);
    process.stdout.write(
      `${JSON.stringify({
        benchmark: 'raw-session',
        provider: values.provider,
        dtype: values.dtype,
        padding,
        batchSize,
        passages: rows.length,
        meanTokens: +(realTokens / rows.length).toFixed(1),
        paddedTokensPerPassage: +(paddedTokens / rows.length).toFixed(1),
        createSeconds: +createSeconds.toFixed(2),
        firstPassSeconds: +firstPassSeconds.toFixed(2),
        embeddingsPerSecond: +(rows.length / seconds).toFixed(1),
        realTokensPerSecond: Math.round(realTokens / seconds),
      })}\n`,
    );
  }
  await session.release();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:raw: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
