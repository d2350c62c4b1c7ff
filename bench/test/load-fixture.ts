/**
 * A small real HTTP server speaking the service's /embed, /info and /metrics shapes, for driver
 * tests that need to control timing and failures. It counts its own requests the way the service
 * does (embedbench_http_requests_total{route="/embed"}), so tests can compare counts exactly.
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FixtureOptions {
  dimension?: number;
  /** Time each request spends "in inference". */
  serviceMs?: number;
  /** Serve one request at a time, queueing the rest (a saturated server). */
  serial?: boolean;
  /** Answer this status instead of 200 for every n-th /embed request (1-based). */
  failEvery?: { n: number; status: number };
  /** Answer 200 with one embedding too few. */
  wrongCount?: boolean;
}

export interface Fixture {
  url: string;
  embedRequests(): number;
  close(): Promise<void>;
}

export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dimension = options.dimension ?? 8;
  let embedCount = 0;
  let tokens = 0;
  let queue = Promise.resolve();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/info') return reply(response, 200, { model: 'fixture-model', embedding_dim: dimension });
      if (request.url === '/metrics') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        return response.end(
          `embedbench_http_requests_total{route="/embed",status="200",backend="fixture"} ${embedCount}\n` +
            `embedbench_tokens_total{backend="fixture"} ${tokens}\n`,
        );
      }
      if (request.url !== '/embed' || request.method !== 'POST') return reply(response, 404, { error: 'not found', error_type: 'not_found' });
      const texts = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { texts: string[] }).texts;
      const arrived = performance.now();
      const work = async () => {
        const started = performance.now();
        await sleep(options.serviceMs ?? 0);
        embedCount++;
        const status = options.failEvery && embedCount % options.failEvery.n === 0 ? options.failEvery.status : 200;
        if (status !== 200) return reply(response, status, { error: 'injected', error_type: 'injected' });
        tokens += texts.reduce((total, text) => total + text.split(' ').length, 0);
        const count = options.wrongCount ? texts.length - 1 : texts.length;
        const finished = performance.now();
        response.setHeader('x-queue-time', (started - arrived).toFixed(3));
        response.setHeader('x-tokenization-time', '0.100');
        response.setHeader('x-inference-time', (finished - started).toFixed(3));
        response.setHeader('x-total-time', (finished - arrived).toFixed(3));
        reply(response, 200, { embeddings: Array.from({ length: count }, () => new Array(dimension).fill(0.5)), model: 'fixture-model' });
      };
      if (options.serial) queue = queue.then(work);
      else void work();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    embedRequests: () => embedCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export const PASSAGES = Array.from({ length: 50 }, (_, index) => ({ pid: String(index), text: `passage ${index} about rivers and hills` }));
