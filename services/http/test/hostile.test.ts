import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runServer, type RunningServer } from '../src/main.js';
import { chunkedPieces, jsonRequest, rawRequest, requestBytes, type RawResponse } from './hostile-client.js';
import { TINY_MODERNBERT } from './helpers.js';

const BODY_TIMEOUT_MS = 1000;
const PAYLOAD_LIMIT = 256 * 1024;
/** Generous: on 2 shared cores one tiny-model request takes well under a second. */
const ANSWER_BOUND_MS = 15_000;

interface HostileCase {
  readonly name: string;
  readonly pieces: ReadonlyArray<string | Buffer>;
  readonly gapMs?: number;
  readonly status: number;
  readonly errorType?: string;
  /** The body is answered before it is read to its end: the client must still see no reset. */
  readonly noResets?: boolean;
  readonly check?: (response: RawResponse) => void;
}

const tinyTexts = (count: number) => JSON.stringify({ texts: Array.from({ length: count }, (_, index) => `t${index}`) });
const embedded = (count: number) => (response: RawResponse) =>
  assert.equal((JSON.parse(response.body) as { num_embeddings: number }).num_embeddings, count);

/** Every hostile request the service must answer with the right status and a JSON body. */
const CORPUS: HostileCase[] = [
  { name: 'malformed JSON', pieces: [jsonRequest('/embed', '{"texts": [')], status: 400, errorType: 'malformed_json' },
  { name: 'truncated JSON', pieces: [jsonRequest('/embed', '{"texts":["abc"')], status: 400, errorType: 'malformed_json' },
  { name: 'a bare JSON string', pieces: [jsonRequest('/embed', '"hello"')], status: 422, errorType: 'validation' },
  { name: 'texts of the wrong type', pieces: [jsonRequest('/embed', '{"texts":5}')], status: 422, errorType: 'validation' },
  { name: 'numbers as texts', pieces: [jsonRequest('/embed', '{"texts":[1,2]}')], status: 422, errorType: 'validation' },
  { name: 'nested arrays', pieces: [jsonRequest('/embed', '{"texts":[["a",["b"]]]}')], status: 422, errorType: 'validation' },
  {
    name: 'arrays nested too deeply to parse',
    pieces: [jsonRequest('/embed', `{"inputs":${'['.repeat(50_000)}${']'.repeat(50_000)}}`)],
    status: 400,
    errorType: 'malformed_json',
  },
  { name: 'arrays nested 500 deep', pieces: [jsonRequest('/embed', `{"inputs":${'['.repeat(500)}${']'.repeat(500)}}`)], status: 422, errorType: 'validation' },
  { name: 'OpenAI input of the wrong type', pieces: [jsonRequest('/v1/embeddings', '{"input":{"a":1}}')], status: 422, errorType: 'validation' },
  { name: 'an empty string', pieces: [jsonRequest('/embed', '{"texts":[""]}')], status: 400, errorType: 'empty_input' },
  { name: 'an empty list', pieces: [jsonRequest('/embed', '{"texts":[]}')], status: 400, errorType: 'empty_input' },
  { name: 'an empty body', pieces: [jsonRequest('/embed', '')], status: 400, errorType: 'malformed_json' },
  { name: '10,000 tiny strings (over the batch limit)', pieces: [jsonRequest('/embed', tinyTexts(10_000))], status: 422, errorType: 'validation' },
  {
    name: 'a huge string just under the payload limit (truncated to the maximum input tokens)',
    pieces: [jsonRequest('/embed', JSON.stringify({ texts: ['word '.repeat((PAYLOAD_LIMIT - 100) / 5)] }))],
    status: 200,
    check: embedded(1),
  },
  { name: 'invalid UTF-8 bytes', pieces: [jsonRequest('/embed', Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d, 0x7d]))], status: 400, errorType: 'malformed_json' },
  { name: 'an overlong UTF-8 encoding of "/"', pieces: [jsonRequest('/embed', Buffer.concat([Buffer.from('{"texts":["'), Buffer.from([0xc0, 0xaf]), Buffer.from('"]}')]))], status: 400, errorType: 'malformed_json' },
  { name: 'a lone surrogate escape', pieces: [jsonRequest('/embed', '{"texts":["a\\ud800b"]}')], status: 200, check: embedded(1) },
  { name: 'a lone low surrogate only', pieces: [jsonRequest('/embed', '{"texts":["\\udfff"]}')], status: 200, check: embedded(1) },
  { name: 'NUL characters', pieces: [jsonRequest('/embed', '{"texts":["a\\u0000b","\\u0000"]}')], status: 200, check: embedded(2) },
  { name: 'a raw NUL byte inside a JSON string', pieces: [jsonRequest('/embed', Buffer.from('{"texts":["a\u0000b"]}'))], status: 400, errorType: 'malformed_json' },
  {
    name: '__proto__ and constructor.prototype keys',
    pieces: [jsonRequest('/embed', '{"texts":["a"],"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')],
    status: 200,
    check: embedded(1),
  },
  { name: 'texts only under __proto__', pieces: [jsonRequest('/embed', '{"__proto__":{"texts":["a"]}}')], status: 422, errorType: 'validation' },
  {
    name: 'a body over the limit with Content-Length declared',
    pieces: [requestBytes('POST', '/embed', { 'Content-Type': 'application/json', 'Content-Length': PAYLOAD_LIMIT * 4 }, '{"texts":["')],
    status: 413,
    errorType: 'payload_too_large',
    noResets: true,
  },
  ...[5, 11].map((megabytes) => ({
    name: `a ${megabytes} MB body sent at once with Content-Length`,
    pieces: [jsonRequest('/embed', JSON.stringify({ texts: ['x'.repeat(megabytes * 1024 * 1024)] }))],
    status: 413,
    errorType: 'payload_too_large',
    noResets: true,
  })),
  {
    name: 'a chunked body over the limit (no length)',
    pieces: chunkedPieces('/embed', ['{"texts":["', ...Array.from({ length: 8 }, () => 'x'.repeat(PAYLOAD_LIMIT / 4)), '"]}']),
    status: 413,
    errorType: 'payload_too_large',
    noResets: true,
  },
  { name: 'a chunked body', pieces: chunkedPieces('/embed', ['{"texts":', '["chunked', ' body"]}']), status: 200, check: embedded(1) },
  {
    name: 'a slow body trickling one byte at a time',
    pieces: [
      requestBytes('POST', '/embed', { 'Content-Type': 'application/json', 'Content-Length': 200 }),
      ...Array.from({ length: 200 }, () => ' '),
    ],
    gapMs: 100,
    status: 408,
    errorType: 'request_timeout',
    check: (response) => assert.ok(response.elapsedMs < BODY_TIMEOUT_MS + 5000, `cut off after ${response.elapsedMs} ms`),
  },
  {
    name: 'a slow body that ends soon after the body timeout',
    pieces: [
      requestBytes('POST', '/embed', { 'Content-Type': 'application/json', 'Content-Length': 200 }),
      ...Array.from({ length: 40 }, () => '     '),
    ],
    gapMs: 40,
    status: 408,
    errorType: 'request_timeout',
    noResets: true,
  },
  {
    name: 'a body that stops before its declared length',
    pieces: [requestBytes('POST', '/embed', { 'Content-Type': 'application/json', 'Content-Length': 100 }, '{"texts":')],
    status: 408,
    errorType: 'request_timeout',
  },
  { name: 'a wrong content type', pieces: [requestBytes('POST', '/embed', { 'Content-Type': 'text/plain', 'Content-Length': 2 }, '{}')], status: 415, errorType: 'unsupported_media_type' },
  {
    name: 'a wrong method on /embed',
    pieces: [requestBytes('GET', '/embed', {})],
    status: 405,
    errorType: 'method_not_allowed',
    check: (response) => assert.match(response.headers.allow ?? '', /POST/),
  },
  {
    name: 'a wrong method on /health',
    pieces: [requestBytes('DELETE', '/health', {})],
    status: 405,
    errorType: 'method_not_allowed',
    check: (response) => assert.match(response.headers.allow ?? '', /GET/),
  },
  { name: 'an unknown route', pieces: [requestBytes('GET', '/admin/../../etc/passwd', {})], status: 404, errorType: 'not_found' },
  { name: 'an unknown POST route', pieces: [jsonRequest('/v2/embed', '{"texts":["a"]}')], status: 404, errorType: 'not_found' },
  { name: 'a malformed request line', pieces: ['GARBAGE\r\n\r\n'], status: 400, errorType: 'malformed_request' },
  { name: 'an invalid Content-Length', pieces: [requestBytes('POST', '/embed', { 'Content-Type': 'application/json', 'Content-Length': 'abc' }, '{}')], status: 400, errorType: 'malformed_request' },
  { name: 'oversized headers', pieces: [requestBytes('GET', '/health', { 'X-Filler': 'x'.repeat(64 * 1024) })], status: 431, errorType: 'malformed_request' },
];

function serve(extra: string[], backend: 'onnx' | 'transformers' = 'onnx'): Promise<RunningServer> {
  return runServer(
    [
      '--backend', backend, '--model', TINY_MODERNBERT, '--port', '0', '--execution-providers', 'cpu', '--workers', '1',
      '--intra-op-threads', '1', '--log-level', 'silent', '--body-timeout', String(BODY_TIMEOUT_MS), ...extra,
    ],
    {},
  );
}

function assertAnswer(response: RawResponse, expected: HostileCase): void {
  const shown = `${expected.name}: got ${response.status} ${response.body.slice(0, 300)}`;
  assert.equal(response.status, expected.status, shown);
  assert.match(response.headers['content-type'] ?? '', /^application\/json/, shown);
  const body = JSON.parse(response.body) as { error?: string; error_type?: string };
  if (expected.errorType !== undefined) {
    assert.equal(body.error_type, expected.errorType, shown);
    assert.ok((body.error ?? '').length > 0, `${expected.name}: the error says what is wrong`);
  }
  assert.ok(response.elapsedMs < ANSWER_BOUND_MS, `${expected.name}: answered after ${response.elapsedMs} ms`);
  if (expected.noResets) assert.equal(response.resets, 0, `${expected.name}: the connection was reset`);
  expected.check?.(response);
}

for (const backend of ['onnx', 'transformers'] as const) {
  describe(`hostile requests against the ${backend} service (embedbench serve entry point)`, () => {
    let server: RunningServer;
    before(async () => {
      server = await serve(['--payload-limit', String(PAYLOAD_LIMIT)], backend);
    });
    after(() => server.shutdown());

    for (const hostile of CORPUS) {
      it(`answers ${hostile.status} to ${hostile.name}`, async () => {
        assertAnswer(await rawRequest(server.url!, hostile.pieces, hostile.gapMs), hostile);
      });
    }

    it('is still healthy afterwards, serves a normal request, nothing was polluted, and /metrics shows no 5xx', async () => {
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was not polluted');
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      const normal = await fetch(`${server.url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: ['after the storm'] }),
      });
      assert.equal(normal.status, 200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const serverErrors = metrics.split('\n').filter((line) => /^embedbench_http_requests_total\{.*status="5\d\d"/.test(line));
      assert.deepEqual(serverErrors, [], 'no request was answered 5xx');
      const clientErrors = metrics.split('\n').filter((line) => /^embedbench_http_requests_total\{.*status="4\d\d"/.test(line));
      assert.ok(clientErrors.length > 0, 'the 4xx answers were counted');
    });
  });
}

describe('hostile requests with raised limits', () => {
  it('serves 10,000 tiny strings in one request when --max-client-batch allows it', async () => {
    const server = await serve(['--max-client-batch', '10000', '--payload-limit', '1mb']);
    try {
      const response = await rawRequest(server.url!, [jsonRequest('/embed', tinyTexts(10_000))]);
      assertAnswer(response, { name: '10,000 tiny strings', pieces: [], status: 200, check: embedded(10_000) });
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    } finally {
      await server.shutdown();
    }
  });
});
