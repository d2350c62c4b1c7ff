import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseServeConfig, type AuthExemptableRoute } from '../src/config.js';
import { EmbeddingService } from '@embedbench/core/service';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/main.js';
import { createRealBackend, postJson, testBatching, TINY_MODERNBERT } from './helpers.js';

const API_KEY = 'sk-test-4f9a1c0e7b2d';
const HF_TOKEN = 'hf_secretTokenValue123456';
const repoFile = (path: string) => readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');

/** Every log line the app writes, as text. */
class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('API key (Bearer) and secret-free logs', () => {
  const logs = new LogCapture();
  const logger = createLogger('trace', 'onnx', logs);
  let service: EmbeddingService;
  const servers: Server[] = [];

  async function serve(authExempt?: readonly AuthExemptableRoute[]): Promise<string> {
    const app = createApp(service, { payloadLimitBytes: 4096, apiKey: API_KEY, authExempt, logger });
    const server = createServer(app.callback());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async () => {
    service = new EmbeddingService({
      backend: await createRealBackend('onnx'),
      modelDir: TINY_MODERNBERT,
      modelId: 'modernbert-tiny',
      batching: testBatching,
      maxClientBatch: 4,
      version: 'test',
      logger,
    });
    await service.start();
  });
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await service.close();
  });

  const authorized = { authorization: `Bearer ${API_KEY}` };

  it('answers 401 JSON with WWW-Authenticate on embedding routes and /info without the right key', async () => {
    const url = await serve();
    const attempts: Array<[string, Record<string, string>]> = [
      ['/embed', {}],
      ['/embed', { authorization: 'Bearer wrong' }],
      ['/embed', { authorization: `Bearer ${API_KEY}x` }],
      ['/embed', { authorization: API_KEY }],
      ['/v1/embeddings', { authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` }],
    ];
    for (const [path, headers] of attempts) {
      const response = await postJson(`${url}${path}`, { texts: ['a'], input: 'a' }, headers);
      assert.equal(response.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await response.json()) as { error_type: string }).error_type, 'unauthorized');
    }
    assert.equal((await fetch(`${url}/info`)).status, 401);
    assert.equal((await postJson(`${url}/embed`, { texts: ['a'] }, authorized)).status, 200);
    assert.equal((await postJson(`${url}/embed`, { texts: ['a'] }, { authorization: `bearer ${API_KEY}` })).status, 200, 'the scheme is case-insensitive');
    assert.equal((await postJson(`${url}/v1/embeddings`, { input: 'a' }, authorized)).status, 200);
    assert.equal((await fetch(`${url}/info`, { headers: authorized })).status, 200);
  });

  it('exempts health and metrics by default, and the exemption is configurable', async () => {
    const byDefault = await serve();
    for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) {
      assert.equal((await fetch(`${byDefault}${path}`)).status, 200, path);
    }
    const none = await serve(parseServeConfig({ backend: 'onnx', model: 'm', 'auth-exempt': 'none' }, {}).authExempt);
    for (const path of ['/health', '/health/live', '/metrics', '/info']) {
      assert.equal((await fetch(`${none}${path}`)).status, 401, path);
      assert.equal((await fetch(`${none}${path}`, { headers: authorized })).status, 200, path);
    }
    const infoToo = await serve(parseServeConfig({ backend: 'onnx', model: 'm' }, { EMBEDBENCH_AUTH_EXEMPT: 'health,info' }).authExempt);
    assert.equal((await fetch(`${infoToo}/info`)).status, 200);
    assert.equal((await fetch(`${infoToo}/metrics`)).status, 401);
    assert.equal((await postJson(`${infoToo}/embed`, { texts: ['a'] })).status, 401, 'embedding routes are never exempt');
    assert.throws(() => parseServeConfig({ backend: 'onnx', model: 'm', 'auth-exempt': 'embed' }, {}), /--auth-exempt \(EMBEDBENCH_AUTH_EXEMPT\)/);
  });

  it('enforces the body-size and batch-size limits also for an authorized client', async () => {
    const url = await serve();
    const tooBig = await postJson(`${url}/embed`, { texts: ['x'.repeat(8192)] }, authorized);
    assert.equal(tooBig.status, 413);
    const tooMany = await postJson(`${url}/embed`, { texts: ['a', 'b', 'c', 'd', 'e'] }, authorized);
    assert.equal(tooMany.status, 422);
    assert.match(((await tooMany.json()) as { error: string }).error, /maximum of 4/);
  });

  it('never writes the API key, the Authorization header or HF_TOKEN to the log', async () => {
    const url = await serve();
    await postJson(`${url}/embed`, { texts: ['a'] }, authorized);
    await postJson(`${url}/embed`, { texts: ['a'] }, { authorization: `Bearer ${API_KEY}-guess` });
    // What a careless log call could pass: the config, request headers, the environment.
    const config = parseServeConfig({ backend: 'onnx', model: 'm', 'api-key': API_KEY }, {});
    logger.info({ config, apiKey: API_KEY, req: { headers: { authorization: `Bearer ${API_KEY}` } }, env: { HF_TOKEN } }, 'settings');
    logger.info({ HF_TOKEN, token: HF_TOKEN, headers: { authorization: `Bearer ${HF_TOKEN}` } }, 'hub');
    logger.flush();
    assert.match(logs.text, /"msg":"request"/, 'requests were logged');
    assert.match(logs.text, /\[redacted\]/);
    assert.ok(!logs.text.includes(API_KEY), 'the API key appears in the log');
    assert.ok(!logs.text.includes(HF_TOKEN), 'HF_TOKEN appears in the log');
  });
});

describe('deployment defaults', () => {
  it('the service image runs as a non-root user', () => {
    const users = [...repoFile('docker/Dockerfile').matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    assert.ok(users.length > 0, 'the Dockerfile sets USER');
    assert.ok(!['root', '0'].includes(users.at(-1)!), `the final USER is ${users.at(-1)}`);
  });

  it('compose publishes every port on localhost unless EMBEDBENCH_BIND_ADDRESS says otherwise', () => {
    const published = [...repoFile('compose.yaml').matchAll(/^\s+- "?([^"\s#]+:\d+:\d+)"?\s*$/gm)].map((match) => match[1]!);
    assert.ok(published.length > 0, 'compose publishes ports');
    for (const mapping of published) assert.match(mapping, /^\$\{EMBEDBENCH_BIND_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$/, mapping);
  });

  it('the HF token reaches the image build only as a build secret, never as an ARG or ENV', () => {
    const dockerfile = repoFile('docker/Dockerfile');
    assert.doesNotMatch(dockerfile, /^\s*(ARG|ENV)\s+[^\n]*HF_TOKEN/m);
    assert.match(dockerfile, /\/run\/secrets\/hf_token/);
  });
});
