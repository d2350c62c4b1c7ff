import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runServer, type RunningServer } from '../src/main.js';
import { TINY_MODERNBERT } from './helpers.js';

const BODY_TIMEOUT_MS = 1000;
const MB = 1024 * 1024;

interface ClientOutcome {
  readonly status: number | undefined;
  readonly body: string;
  /** Error codes the client saw (EPIPE, ECONNRESET...) until its connection closed. */
  readonly errors: string[];
}

/**
 * Posts with node:http on a connection of its own, writing the body in pieces `gapMs` apart (with
 * Content-Length, or chunked) until done or answered, and waits until the connection is closed so
 * a late reset is seen too.
 */
function postWithNodeHttp(
  url: string,
  body: Buffer,
  options: { chunked?: boolean; pieceBytes?: number; gapMs?: number } = {},
): Promise<ClientOutcome> {
  const pieceBytes = options.pieceBytes ?? MB;
  return new Promise((resolve) => {
    const errors: string[] = [];
    let status: number | undefined;
    let text = '';
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (!options.chunked) headers['content-length'] = body.length;
    const request = httpRequest(`${url}/embed`, { method: 'POST', headers, agent: false }, (response) => {
      status = response.statusCode;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    });
    request.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    request.on('close', () => resolve({ status, body: text, errors }));
    void (async () => {
      for (let offset = 0; offset < body.length; offset += pieceBytes) {
        if (request.destroyed || status !== undefined) return;
        request.write(body.subarray(offset, offset + pieceBytes));
        if (options.gapMs !== undefined) await sleep(options.gapMs);
      }
      request.end();
    })();
  });
}

/** A JSON body of about `bytes` bytes: one long text. */
function jsonBodyOf(bytes: number): Buffer {
  return Buffer.from(JSON.stringify({ texts: ['x'.repeat(bytes - 20)] }));
}

function assertAnswered(outcome: ClientOutcome, status: number, errorType: string): void {
  const shown = `got ${outcome.status} ${outcome.body.slice(0, 200)}, errors [${outcome.errors.join(', ')}]`;
  assert.deepEqual(outcome.errors, [], `no connection error: ${shown}`);
  assert.equal(outcome.status, status, shown);
  assert.equal((JSON.parse(outcome.body) as { error_type: string }).error_type, errorType, shown);
}

describe('bodies the service does not read to the end still get their JSON answer (node:http and fetch clients)', () => {
  let server: RunningServer;
  before(async () => {
    server = await runServer(
      [
        '--backend', 'onnx', '--model', TINY_MODERNBERT, '--port', '0', '--execution-providers', 'cpu', '--workers', '1',
        '--intra-op-threads', '1', '--log-level', 'silent', '--body-timeout', String(BODY_TIMEOUT_MS),
      ],
      {},
    );
  });
  after(() => server.shutdown());

  for (const megabytes of [5, 8, 11]) {
    it(`answers 413 to ${megabytes} MB with Content-Length over the 2 MB limit, with no reset`, async () => {
      assertAnswered(await postWithNodeHttp(server.url!, jsonBodyOf(megabytes * MB)), 413, 'payload_too_large');
    });
  }

  it('answers 413 to 11 MB sent chunked, with no reset', async () => {
    assertAnswered(await postWithNodeHttp(server.url!, jsonBodyOf(11 * MB), { chunked: true }), 413, 'payload_too_large');
  });

  it('answers 413 to 11 MB posted with fetch', async () => {
    const response = await fetch(`${server.url}/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: jsonBodyOf(11 * MB),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error_type: string }).error_type, 'payload_too_large');
  });

  it('answers 408 to a body still arriving at the body timeout, with no reset', async () => {
    const outcome = await postWithNodeHttp(server.url!, jsonBodyOf(MB + MB / 2), { pieceBytes: 64 * 1024, gapMs: 50 });
    assertAnswered(outcome, 408, 'request_timeout');
  });

  it('still serves normal requests afterwards', async () => {
    const response = await fetch(`${server.url}/embed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['after the flood'] }),
    });
    assert.equal(response.status, 200);
  });
});
