import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKEND_NAMES, type BackendName } from '@embedbench/core/backend';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { TextTokenizer } from '@embedbench/core/tokenization';
import OpenAI from 'openai';
import {
  histogramCount,
  histogramValue,
  norm,
  postJson,
  startTestServer,
  testBatching,
  TINY_MODERNBERT,
  waitUntil,
  type TestServer,
} from './helpers.js';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Embeddings map text to vectors.',
  'MS MARCO is a collection of real search queries and passages, used to train and evaluate retrieval models.',
];
const MAX_INPUT_TOKENS = 32;
const TIMING_HEADERS = ['x-queue-time', 'x-tokenization-time', 'x-inference-time', 'x-total-time'];
const METRIC_NAMES = [
  'embedbench_request_duration_seconds',
  'embedbench_queue_duration_seconds',
  'embedbench_tokenization_duration_seconds',
  'embedbench_inference_duration_seconds',
  'embedbench_batch_size',
  'embedbench_batch_tokens',
  'embedbench_queue_depth',
  'embedbench_requests_in_flight',
  'embedbench_http_requests_total',
  'embedbench_errors_total',
  'embedbench_embeddings_total',
  'embedbench_tokens_total',
  'nodejs_eventloop_lag_seconds',
];

interface ErrorBody {
  error: string;
  error_type: string;
}

async function expectError(response: Response, status: number, errorType: string): Promise<ErrorBody> {
  const body = (await response.json()) as ErrorBody;
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${JSON.stringify(body)}`);
  assert.equal(body.error_type, errorType);
  assert.ok(body.error.length > 0, 'the error message says what is wrong');
  assertTimingHeaders(response);
  return body;
}

function assertTimingHeaders(response: Response): Record<string, number> {
  const values: Record<string, number> = {};
  for (const header of TIMING_HEADERS) {
    const value = response.headers.get(header);
    assert.ok(value !== null, `${header} is missing`);
    values[header] = Number(value);
    assert.ok(Number.isFinite(values[header]) && values[header]! >= 0, `${header} is ${value}`);
  }
  return values;
}

const embeddingsByBackend = new Map<BackendName, number[][]>();

for (const backendName of BACKEND_NAMES) {
  describe(`HTTP contract on the ${backendName} backend (tiny ModernBERT)`, () => {
    let server: TestServer;
    let url: string;

    before(async () => {
      server = await startTestServer(backendName, { maxInputTokens: MAX_INPUT_TOKENS });
      url = server.url;
    });
    after(() => server.close());

    it('GET /health, /health/ready and /health/live answer healthy', async () => {
      for (const path of ['/health', '/health/ready']) {
        const response = await fetch(`${url}${path}`);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), {
          status: 'healthy',
          backend: backendName,
          model: 'modernbert-tiny',
          gpu_available: false,
        });
        assertTimingHeaders(response);
      }
      const live = await fetch(`${url}/health/live`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: 'alive' });
    });

    it('GET /info reports the model, backend, provider, dtype, limits and version', async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
      assert.equal(info['model'], 'modernbert-tiny');
      assert.equal(info['backend'], backendName);
      assert.equal(info['execution_provider'], 'cpu');
      assert.equal(info['dtype'], 'fp32');
      assert.equal(info['embedding_dim'], 64);
      assert.equal(info['max_input_tokens'], MAX_INPUT_TOKENS);
      assert.equal(info['max_client_batch'], 256);
      assert.deepEqual(info['batching'], {
        enabled: true,
        max_batch_tokens: testBatching.maxBatchTokens,
        max_batch_requests: testBatching.maxBatchRequests,
        max_queue: testBatching.maxQueue,
        parallelism: 1,
      });
      assert.equal(info['version'], 'test');
    });

    it('POST /embed {"texts"} answers normalized embeddings in the native shape', async () => {
      const response = await postJson(`${url}/embed`, { texts: TEXTS });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { embeddings: number[][]; model: string; num_embeddings: number; embedding_dim: number };
      assert.equal(body.model, 'modernbert-tiny');
      assert.equal(body.num_embeddings, TEXTS.length);
      assert.equal(body.embedding_dim, 64);
      assert.equal(body.embeddings.length, TEXTS.length);
      for (const row of body.embeddings) {
        assert.equal(row.length, 64);
        assert.ok(Math.abs(norm(row) - 1) < 1e-5, `norm ${norm(row)}`);
      }
      assert.ok(cosineSimilarity(body.embeddings[0]!, body.embeddings[1]!) < 0.9999, 'different texts differ');
      const timings = assertTimingHeaders(response);
      assert.ok(timings['x-tokenization-time']! > 0, 'tokenization ran');
      assert.ok(timings['x-inference-time']! > 0, 'inference ran');
      assert.ok(
        timings['x-total-time']! >= timings['x-queue-time']! + timings['x-tokenization-time']! + timings['x-inference-time']! - 0.01,
        `phases fit in the total: ${JSON.stringify(timings)}`,
      );
      embeddingsByBackend.set(backendName, body.embeddings);
    });

    it('POST /embed TEI shape answers a bare array, also for one string, and honours normalize:false', async () => {
      const single = await postJson(`${url}/embed`, { inputs: TEXTS[0] });
      assert.equal(single.status, 200);
      const [row] = (await single.json()) as number[][];
      assert.equal(row!.length, 64);
      const many = (await (await postJson(`${url}/embed`, { inputs: TEXTS })).json()) as number[][];
      assert.equal(many.length, TEXTS.length);
      assert.ok(cosineSimilarity(many[0]!, row!) > 0.99999, 'a single string embeds like the same string in a list');
      const raw = (await (await postJson(`${url}/embed`, { inputs: TEXTS[0], normalize: false })).json()) as number[][];
      assert.ok(Math.abs(norm(raw[0]!) - 1) > 1e-3, 'un-normalized rows keep their norm');
      assert.ok(cosineSimilarity(raw[0]!, row!) > 0.99999);
    });

    it('truncates long inputs by default and answers 422 with truncate:false', async () => {
      const long = 'word '.repeat(200);
      const tokenizer = await TextTokenizer.load(TINY_MODERNBERT);
      assert.ok(tokenizer.encode([long], true).tokenCount > MAX_INPUT_TOKENS);
      const truncated = await postJson(`${url}/embed`, { inputs: long });
      assert.equal(truncated.status, 200);
      const body = await expectError(await postJson(`${url}/embed`, { inputs: long, truncate: false }), 422, 'validation');
      assert.match(body.error, /maximum of 32/);
    });

    it('POST /v1/embeddings works with the official openai client: float, base64, dimensions, usage', async () => {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const asFloat = await client.embeddings.create({ model: 'modernbert-tiny', input: TEXTS, encoding_format: 'float' });
      assert.equal(asFloat.object, 'list');
      assert.equal(asFloat.model, 'modernbert-tiny');
      assert.deepEqual(asFloat.data.map((d) => d.index), [0, 1, 2]);
      const tokenizer = await TextTokenizer.load(TINY_MODERNBERT, { maxInputTokens: MAX_INPUT_TOKENS });
      const expectedTokens = tokenizer.encode(TEXTS, true).tokenCount;
      assert.deepEqual(asFloat.usage, { prompt_tokens: expectedTokens, total_tokens: expectedTokens });
      // The client asks for base64 when no format is given and decodes it itself.
      const asBase64 = await client.embeddings.create({ model: 'modernbert-tiny', input: TEXTS });
      asBase64.data.forEach((item, i) => {
        assert.equal(item.embedding.length, 64);
        item.embedding.forEach((value, j) => assert.equal(value, Math.fround(asFloat.data[i]!.embedding[j]!)));
      });
      const raw = await postJson(`${url}/v1/embeddings`, { input: TEXTS[0], encoding_format: 'base64' });
      const rawBody = (await raw.json()) as { data: Array<{ embedding: string }> };
      assert.equal(typeof rawBody.data[0]!.embedding, 'string');
      assert.equal(Buffer.from(rawBody.data[0]!.embedding, 'base64').length, 64 * 4);
      const shortened = await client.embeddings.create({ input: TEXTS[0]!, model: 'x', dimensions: 16, encoding_format: 'float' });
      const short = shortened.data[0]!.embedding;
      assert.equal(short.length, 16);
      assert.ok(Math.abs(norm(short) - 1) < 1e-5, 'truncated embeddings are renormalized');
      assert.ok(cosineSimilarity(short, asFloat.data[0]!.embedding.slice(0, 16)) > 0.99999);
    });

    it('answers 400 for malformed JSON, invalid UTF-8 and empty input', async () => {
      await expectError(await postJson(`${url}/embed`, '{"texts": ['), 400, 'malformed_json');
      const invalidUtf8 = await fetch(`${url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from([0x7b, 0x22, 0x74, 0xff, 0x22, 0x7d]),
      });
      await expectError(invalidUtf8, 400, 'malformed_json');
      await expectError(await fetch(`${url}/embed`, { method: 'POST' }), 400, 'malformed_json');
      await expectError(await postJson(`${url}/embed`, { texts: [] }), 400, 'empty_input');
      await expectError(await postJson(`${url}/embed`, { inputs: '' }), 400, 'empty_input');
      await expectError(await postJson(`${url}/v1/embeddings`, { input: ['a', ''] }), 400, 'empty_input');
    });

    it('answers 413 for a body over the payload limit, declared or streamed', async () => {
      const big = JSON.stringify({ texts: ['x'.repeat(2 * 1024 * 1024)] });
      await expectError(await postJson(`${url}/embed`, big), 413, 'payload_too_large');
      const chunks = [Buffer.from('{"texts":["'), Buffer.alloc(3 * 1024 * 1024, 'y'), Buffer.from('"]}')];
      const streamed = await fetch(`${url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          pull(controller) {
            const chunk = chunks.shift();
            if (chunk) controller.enqueue(chunk);
            else controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      await expectError(streamed, 413, 'payload_too_large');
    });

    it('answers 415 for a wrong content type', async () => {
      const response = await fetch(`${url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ texts: TEXTS }),
      });
      await expectError(response, 415, 'unsupported_media_type');
      const latin1 = await postJson(`${url}/embed`, { texts: TEXTS }, { 'content-type': 'application/json; charset=latin1' });
      await expectError(latin1, 415, 'unsupported_media_type');
    });

    it('answers 422 for wrong types, unknown shapes, too many texts and too many dimensions', async () => {
      const wrongType = await expectError(await postJson(`${url}/embed`, { texts: ['a', 1] }), 422, 'validation');
      assert.match(wrongType.error, /texts\[1\]/);
      await expectError(await postJson(`${url}/embed`, { texts: 'a' }), 422, 'validation');
      await expectError(await postJson(`${url}/embed`, { texts: [['a']] }), 422, 'validation');
      await expectError(await postJson(`${url}/embed`, { foo: 1 }), 422, 'validation');
      await expectError(await postJson(`${url}/embed`, [1, 2]), 422, 'validation');
      await expectError(await postJson(`${url}/embed`, { inputs: 'a', normalize: 'yes' }), 422, 'validation');
      const tooMany = await expectError(await postJson(`${url}/embed`, { texts: Array(257).fill('a') }), 422, 'validation');
      assert.match(tooMany.error, /256/);
      await expectError(await postJson(`${url}/v1/embeddings`, { input: [[1, 2, 3]] }), 422, 'validation');
      await expectError(await postJson(`${url}/v1/embeddings`, { input: 'a', dimensions: 65 }), 422, 'validation');
      await expectError(await postJson(`${url}/v1/embeddings`, { input: 'a', encoding_format: 'hex' }), 422, 'validation');
    });

    it('ignores prototype-pollution keys', async () => {
      const body = '{"texts":["a"],"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
      const response = await postJson(`${url}/embed`, body);
      assert.equal(response.status, 200);
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    });

    it('answers JSON 404 and 405 for unknown routes and methods', async () => {
      await expectError(await fetch(`${url}/nope`), 404, 'not_found');
      await expectError(await fetch(`${url}/embed`), 405, 'method_not_allowed');
    });

    it('coalesces concurrent requests into one batch and gives each its own rows in order', async () => {
      const { metrics } = server.service;
      const tokenizedBefore = await histogramCount(metrics.tokenizationDuration);
      const batchesBefore = await histogramCount(metrics.batchSize);
      const rowsBefore = await histogramValue(metrics.batchSize, '_sum');
      const release = server.backend.hold();
      const first = postJson(`${url}/embed`, { texts: [TEXTS[0]] });
      await waitUntil(async () => (await histogramCount(metrics.batchSize)) === batchesBefore + 1);
      const second = postJson(`${url}/embed`, { texts: [TEXTS[2], TEXTS[1]] });
      const third = postJson(`${url}/embed`, { texts: [TEXTS[1], TEXTS[0], TEXTS[2]] });
      await waitUntil(async () => (await histogramCount(metrics.tokenizationDuration)) === tokenizedBefore + 3);
      release();
      const bodies = await Promise.all([first, second, third].map(async (r) => (await (await r).json()) as { embeddings: number[][] }));
      assert.equal((await histogramCount(metrics.batchSize)) - batchesBefore, 2, 'the waiting requests shared one batch');
      assert.equal((await histogramValue(metrics.batchSize, '_sum')) - rowsBefore, 6);
      const reference = embeddingsByBackend.get(backendName)!;
      const expectRows = (rows: number[][], textIndices: number[]) =>
        textIndices.forEach((t, i) => assert.ok(cosineSimilarity(rows[i]!, reference[t]!) > 0.99999, `row ${i} is text ${t}`));
      expectRows(bodies[0]!.embeddings, [0]);
      expectRows(bodies[1]!.embeddings, [2, 1]);
      expectRows(bodies[2]!.embeddings, [1, 0, 2]);
    });

    it('answers 429 with Retry-After at once when the queue is full, then serves again', async () => {
      const { metrics } = server.service;
      const tokenizedBefore = await histogramCount(metrics.tokenizationDuration);
      const release = server.backend.hold();
      const admitted = Array.from({ length: testBatching.maxQueue }, () => postJson(`${url}/embed`, { inputs: 'queued' }));
      await waitUntil(async () => (await histogramCount(metrics.tokenizationDuration)) === tokenizedBefore + testBatching.maxQueue);
      const rejected = await postJson(`${url}/embed`, { inputs: 'one too many' });
      assert.equal(rejected.headers.get('retry-after'), '1');
      await expectError(rejected, 429, 'overloaded');
      release();
      for (const response of await Promise.all(admitted)) assert.equal(response.status, 200);
      assert.equal((await postJson(`${url}/embed`, { inputs: 'after' })).status, 200);
    });

    it('GET /metrics exposes every agreed metric, labelled by backend', async () => {
      const response = await fetch(`${url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
      const text = await response.text();
      for (const name of METRIC_NAMES) {
        assert.match(text, new RegExp(`^${name}(_bucket|_count|_sum)?\\{[^}]*backend="${backendName}"`, 'm'), name);
      }
      assert.match(text, /embedbench_http_requests_total\{route="\/embed",status="429",backend=/);
      assert.match(text, /embedbench_errors_total\{error_type="overloaded",backend=/);
    });
  });
}

describe('parity between the backends', () => {
  it('embeds the same texts with cosine >= 0.9999 (fp32)', () => {
    const transformers = embeddingsByBackend.get('transformers');
    const onnx = embeddingsByBackend.get('onnx');
    assert.ok(transformers && onnx, 'both contract suites ran first');
    transformers.forEach((row, i) => {
      const cosine = cosineSimilarity(row, onnx[i]!);
      assert.ok(cosine >= 0.9999, `text ${i}: cosine ${cosine}`);
    });
  });
});

describe('a service that is still loading', () => {
  it('answers 503: health "loading", embedding routes not_ready', async () => {
    const loading = await startTestServer('onnx', { start: false });
    const { url } = loading;
    try {
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { status: string }).status, 'loading');
      assert.equal((await fetch(`${url}/health/ready`)).status, 503);
      assert.equal((await fetch(`${url}/health/live`)).status, 200);
      await expectError(await postJson(`${url}/embed`, { texts: ['a'] }), 503, 'not_ready');
      await expectError(await postJson(`${url}/v1/embeddings`, { input: 'a' }), 503, 'not_ready');
    } finally {
      await loading.close();
    }
  });
});
