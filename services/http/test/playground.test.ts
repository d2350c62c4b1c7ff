// The playground page in headless Chromium (Debian's, driven by playwright-core) against two real
// services (onnx and transformers on the tiny test model, started by runServer as `embedbench
// serve` does), with a node:http server standing in for Alloy's faro.receiver.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cors } from '../src/cors.js';
import { runServer, type RunningServer } from '../src/main.js';
import { TINY_MODERNBERT } from './helpers.js';

/** Flags with which Debian's headless chromium starts as root on a machine without a GPU. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings map text to vectors.', 'Where is the nearest train station?'];
const quiet = { EMBEDBENCH_LOG_LEVEL: 'silent' };

interface FaroPayload {
  meta?: { app?: { name?: string } };
  measurements?: { type: string; values: Record<string, number>; context?: Record<string, string> }[];
  events?: { name: string; attributes?: Record<string, string> }[];
  exceptions?: { type: string; value: string; context?: Record<string, string> }[];
}

/**
 * The request headers Alloy's faro.receiver lets through CORS: a fixed list (grafana/alloy#4051),
 * plus Idempotency-Key, which Faro's FetchTransport sends on every batch since faro-web-sdk 2.x
 * and Alloy allows since grafana/alloy#7054. A receiver without it rejects every cross-origin batch.
 */
const FARO_RECEIVER_ALLOWED_HEADERS = ['content-type', 'traceparent', 'x-api-key', 'x-faro-session-id', 'x-scope-orgid', 'idempotency-key'];

/** Collects what Faro POSTs, answering CORS as faro.receiver does for its cors_allowed_origins. */
class FaroReceiver {
  readonly payloads: FaroPayload[] = [];
  private readonly server: Server = createServer((request, response) => {
    response.setHeader('Access-Control-Allow-Origin', request.headers.origin ?? '*');
    response.setHeader('Access-Control-Allow-Headers', FARO_RECEIVER_ALLOWED_HEADERS.join(', '));
    response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    if (request.method === 'OPTIONS') return void response.writeHead(204).end();
    if (request.method !== 'POST' || request.url !== '/collect') return void response.writeHead(404).end();
    void readBody(request).then((body) => {
      this.payloads.push(JSON.parse(body.toString('utf8')) as FaroPayload);
      response.writeHead(202).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/collect`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the receiver got ${JSON.stringify(this.payloads)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  measurements() {
    return this.payloads.flatMap((payload) => payload.measurements ?? []);
  }
  events() {
    return this.payloads.flatMap((payload) => payload.events ?? []);
  }
  exceptions() {
    return this.payloads.flatMap((payload) => payload.exceptions ?? []);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

const field = (page: Page, side: 'a' | 'b', name: string) => page.locator(`#result-${side} dd[data-field="${name}"]`).textContent();
const milliseconds = (text: string | null) => Number(/^([\d.]+) ms$/.exec(text ?? '')?.[1]);

describe('playground page', { timeout: 120_000 }, () => {
  let onnx: RunningServer;
  let transformers: RunningServer;
  let receiver: FaroReceiver;
  let collectorUrl: string;
  let browser: Browser;

  before(async () => {
    const serve = (backend: string) =>
      runServer(['--backend', backend, '--model', TINY_MODERNBERT, '--port', '0', '--execution-providers', 'cpu'], quiet);
    [onnx, transformers] = await Promise.all([serve('onnx'), serve('transformers')]);
    receiver = new FaroReceiver();
    collectorUrl = await receiver.start();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await receiver?.stop();
    await Promise.all([onnx?.shutdown(), transformers?.shutdown()]);
  });

  const pageUrl = (b: string) =>
    `${onnx.url}/playground?${new URLSearchParams({ a: onnx.url!, b, faro: collectorUrl })}`;

  it('is served at /playground: the page, its bundled script and its stylesheet', async () => {
    const page = await fetch(`${onnx.url}/playground`);
    assert.equal(page.status, 200);
    assert.match(page.url, /\/playground\/$/);
    assert.match(await page.text(), /<title>EmbedBench playground<\/title>/);
    const script = await fetch(`${onnx.url}/playground/app.js`);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await script.text()).length > 10_000, 'Faro is bundled in');
    assert.match((await fetch(`${onnx.url}/playground/style.css`)).headers.get('content-type') ?? '', /css/);
    assert.equal((await fetch(`${onnx.url}/playground/nothing-here`)).status, 404);
  });

  it('embeds with both backends, shows both latencies and the cosines, and reports them to Faro', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageUrl(transformers.url!));
    await page.fill('#texts', TEXTS.join('\n'));
    await page.click('#compare');
    await page.waitForSelector('#status:has-text("Done")');

    assert.match((await page.textContent('#result-a h2')) ?? '', /onnx/);
    assert.match((await page.textContent('#result-b h2')) ?? '', /transformers/);
    for (const side of ['a', 'b'] as const) {
      assert.ok(milliseconds(await field(page, side, 'round-trip')) > 0, `${side}: round trip shown`);
      // B is another origin: its timing headers are readable only through the CORS expose list.
      assert.ok(milliseconds(await field(page, side, 'server-total')) > 0, `${side}: x-total-time shown`);
      assert.ok(Number.isFinite(milliseconds(await field(page, side, 'inference'))), `${side}: x-inference-time shown`);
    }
    const cosines = (await page.locator('#similarity tbody td:last-child').allTextContents()).map(Number);
    assert.equal(cosines.length, TEXTS.length);
    // Same model, two runtimes: the vectors must agree.
    for (const cosine of cosines) assert.ok(cosine > 0.999 && cosine <= 1.000001, `cosine ${cosine}`);
    assert.ok(Number(await page.textContent('#mean-cosine')) > 0.999);

    await receiver.waitFor('Faro measurements for both backends and the compare event', () => {
      const backends = new Set(receiver.measurements().filter((m) => m.type === 'embed_request').map((m) => m.context?.backend));
      return backends.has('onnx') && backends.has('transformers') && receiver.events().some((e) => e.name === 'embed_compared');
    });
    for (const measurement of receiver.measurements().filter((m) => m.type === 'embed_request')) {
      assert.ok(measurement.values.round_trip_ms! > 0);
      assert.ok(measurement.values.server_total_ms! > 0);
      assert.equal(measurement.values.texts, TEXTS.length);
    }
    const compared = receiver.events().find((e) => e.name === 'embed_compared')!;
    assert.ok(Number(compared.attributes?.mean_cosine) > 0.999);
    assert.ok(receiver.events().some((e) => e.name === 'playground_loaded'));
    assert.equal(receiver.payloads[0]?.meta?.app?.name, 'embedbench-playground');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('shows a backend that cannot be reached as failed, and reports the error to Faro', async () => {
    const unreachable = 'http://127.0.0.1:9';
    const page = await browser.newPage();
    await page.goto(pageUrl(unreachable));
    await page.click('#compare');
    await page.waitForSelector('#result-b[data-state="error"]');
    assert.equal(await page.getAttribute('#result-a', 'data-state'), 'ok');
    assert.match((await page.textContent('#status')) ?? '', /failed/);
    await receiver.waitFor('the Faro exception', () => receiver.exceptions().some((e) => e.context?.url === unreachable));
    await page.close();
  });

  it('CORS: answers preflights for loopback origins only, and exposes the timing headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${transformers.url}/embed`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(onnx.url!);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), onnx.url);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    const foreign = await preflight('https://elsewhere.example');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const response = await fetch(`${transformers.url}/health`, { headers: { origin: onnx.url! } });
    assert.match(response.headers.get('access-control-expose-headers') ?? '', /x-total-time/);
  });
});

describe('cors', () => {
  it('with an origin list, allows exactly those origins', async () => {
    const app = new Koa().use(cors({ allowedOrigins: ['https://playground.example'] })).use((ctx) => {
      ctx.body = 'ok';
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const listed = await fetch(url, { headers: { origin: 'https://playground.example' } });
      assert.equal(listed.headers.get('access-control-allow-origin'), 'https://playground.example');
      assert.match(listed.headers.get('vary') ?? '', /Origin/);
      const loopback = await fetch(url, { headers: { origin: 'http://localhost:8000' } });
      assert.equal(loopback.headers.get('access-control-allow-origin'), null, 'a list replaces the loopback default');
      assert.equal(await loopback.text(), 'ok', 'a request from another origin is still answered; the browser withholds it');
    } finally {
      server.close();
    }
  });
});

describe('playground page source', () => {
  it('type-checks against the DOM lib (esbuild bundles it without checking)', () => {
    const tsconfig = fileURLToPath(new URL('../../playground/tsconfig.json', import.meta.url));
    const tsc = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', tsconfig], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
