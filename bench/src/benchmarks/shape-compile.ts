/**
 * `npm run bench:shapes -- --model DIR --backend onnx --device webgpu`: whether a batch shape the
 * start-up warm-up did not run still compiles shaders on the request path. Starts the backend in
 * this process as serve does (warm-up included), then runs batches of row counts and lengths
 * chosen at random within the GPU batch limits, each twice, and prints both times per shape as
 * JSON lines, then a summary with the worst first/second ratio. A first run several times slower
 * than its second is a compile a user would wait for; a ratio near 1 is noise. A measurement, not
 * a test: on lavapipe the times only show whether compiles happen.
 */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, DEVICES, DTYPES, type BackendName, type Device, type Dtype } from '@embedbench/core/backend';
import { createBackend } from '@embedbench/backends/registry';
import { bucketFor, lengthBuckets, warmupShapes } from '@embedbench/backends/padding';
import { batchRowLimit, batchTokenBudget } from '@embedbench/backends/providers/selection';
import { pino } from 'pino';
import { SeededRandom } from '../text/random.js';
import { positiveOption } from './service-process.js';

interface ShapeTiming {
  readonly rows: number;
  readonly tokens: number;
  readonly paddedLength: number;
  readonly firstMs: number;
  readonly secondMs: number;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/modernbert-base-synthetic' },
      backend: { type: 'string', default: 'onnx' },
      device: { type: 'string', default: 'webgpu' },
      dtype: { type: 'string', default: 'auto' },
      shapes: { type: 'string', default: '12' },
      'max-input-tokens': { type: 'string', default: '512' },
      seed: { type: 'string', default: '7' },
    },
  });
  const backendName = oneOf<BackendName>(values.backend, BACKEND_NAMES, '--backend');
  const device = oneOf<Device>(values.device, DEVICES, '--device');
  const dtype = oneOf<Dtype>(values.dtype, DTYPES, '--dtype');
  const maxInputTokens = positiveOption('max-input-tokens', values['max-input-tokens']);
  const shapeCount = positiveOption('shapes', values.shapes);
  const random = new SeededRandom(positiveOption('seed', values.seed));
  const backend = await createBackend(backendName, {
    modelDir: values.model,
    modelId: values.model,
    dtype,
    device,
    executionProviders: ['tensorrt', 'cuda', 'webgpu', 'cpu'],
    intraOpThreads: undefined,
    interOpThreads: 1,
    workers: 1,
    int8MinCosine: 0.99,
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  const startedAt = performance.now();
  const info = await backend.start({ maxSequenceLength: maxInputTokens });
  const startSeconds = (performance.now() - startedAt) / 1000;
  try {
    const buckets = lengthBuckets(maxInputTokens);
    const warmed = new Set(warmupShapes(buckets).map(({ rows, length }) => `${rows}x${length}`));
    const results: ShapeTiming[] = [];
    while (results.length < shapeCount) {
      const tokens = 1 + random.int(maxInputTokens);
      const paddedLength = bucketFor(tokens, buckets);
      const maxRows = Math.min(batchRowLimit('webgpu'), Math.floor(batchTokenBudget('webgpu') / paddedLength));
      const rows = 1 + random.int(maxRows);
      if (warmed.has(`${rows}x${paddedLength}`)) continue;
      const batch = { inputIds: Array.from({ length: rows }, () => new Int32Array(tokens).fill(100)) };
      const timed = async () => {
        const runStartedAt = performance.now();
        await backend.embed(batch);
        return performance.now() - runStartedAt;
      };
      const firstMs = await timed();
      const secondMs = await timed();
      const result: ShapeTiming = { rows, tokens, paddedLength, firstMs: Math.round(firstMs), secondMs: Math.round(secondMs) };
      console.log(JSON.stringify(result));
      results.push(result);
    }
    const ratio = (result: ShapeTiming) => result.firstMs / Math.max(1, result.secondMs);
    const worst = results.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
    console.log(
      JSON.stringify({
        benchmark: 'shape-compile',
        backend: backendName,
        provider: info.executionProvider,
        dtype: info.dtype,
        startSeconds: Number(startSeconds.toFixed(1)),
        shapes: results.length,
        worstFirstOverSecond: Number(ratio(worst).toFixed(2)),
        worstShape: `${worst.rows}x${worst.paddedLength}`,
        worstExtraMs: worst.firstMs - worst.secondMs,
      }),
    );
  } finally {
    await backend.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:shapes: ${(error as Error).message}`);
  process.exitCode = 1;
});
