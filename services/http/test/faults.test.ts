import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { OnnxBackend } from '@embedbench/backends/onnx/index';
import { EmbeddingService } from '@embedbench/core/service';
import { createApp } from '../src/app.js';
import { rawRequest, requestBytes } from './hostile-client.js';
import { postJson, silentLogger, testBatching, TINY_MODERNBERT, tinyBackendOptions } from './helpers.js';
import { CRASHING_WORKER, crashWorkersOnNextBatch } from '@embedbench/backends/test/worker-crash';

/** The `embedbench` CLI, whose serve command runs this package's entry point. */
const CLI = fileURLToPath(new URL('../../../../bench/dist/src/cli.js', import.meta.url));

describe('an onnx inference worker that dies (HTTP view)', () => {
  it('answers its in-flight request 503, shows the failure on /health until the worker is back, then serves', async () => {
    const backend = new OnnxBackend(tinyBackendOptions, { workerScript: CRASHING_WORKER });
    const service = new EmbeddingService({
      backend,
      modelDir: TINY_MODERNBERT,
      modelId: 'modernbert-tiny',
      batching: testBatching,
      maxClientBatch: 16,
      version: 'test',
      logger: silentLogger,
    });
    await service.start();
    const server = createServer(createApp(service, { payloadLimitBytes: 1 << 20, logger: silentLogger }).callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      crashWorkersOnNextBatch();
      const inFlight = await postJson(`${url}/embed`, { texts: ['doomed', 'batch'] });
      assert.equal(inFlight.status, 503);
      const failure = (await inFlight.json()) as { error: string; error_type: string };
      assert.equal(failure.error_type, 'backend');
      assert.match(failure.error, /exited with code 70/);

      const sick = await fetch(`${url}/health`);
      assert.equal(sick.status, 503, '/health shows the failure at once');
      const sickBody = (await sick.json()) as { status: string; reason: string };
      assert.equal(sickBody.status, 'unhealthy');
      assert.match(sickBody.reason, /restarting/);

      const recoveredAfterMs = await waitForHealthy(url);
      const again = await postJson(`${url}/embed`, { texts: ['served', 'again'] });
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { num_embeddings: number }).num_embeddings, 2);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /embedbench_errors_total\{error_type="backend",backend="onnx"\} 1/);
      console.log(`worker restart: /health back to 200 after ${recoveredAfterMs} ms`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await service.close();
    }
  });
});

async function waitForHealthy(url: string): Promise<number> {
  const startedAt = performance.now();
  for (;;) {
    const response = await fetch(`${url}/health`);
    if (response.status === 200) return Math.round(performance.now() - startedAt);
    assert.equal(response.status, 503);
    assert.ok(performance.now() - startedAt < 30_000, 'the worker was not back within 30 s');
    await sleep(50);
  }
}

interface ServeProcess {
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

function serve(args: string[]): ServeProcess {
  const child = spawn(process.execPath, [CLI, 'serve', '--backend', 'onnx', '--port', '0', '--execution-providers', 'cpu', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  // Reads every log line to the end: a pipe nobody drains would block the service's writes.
  const url = new Promise<string>((resolve, reject) => {
    let listening: string | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string };
      listening = entry.url ?? listening;
      if (entry.msg === 'model ready' && listening !== undefined) resolve(listening);
    });
    void exited.then(({ stderr: output }) => reject(new Error(`serve exited before it was ready: ${output}`)));
  });
  // Start-up failure tests only look at the exit.
  url.catch(() => {});
  return { url, exited, kill: (signal) => child.kill(signal) };
}

/** Requests the service has taken in on /embed: those answered plus those in flight (less this /metrics request). */
async function embedRequests(url: string): Promise<{ accepted: number; inFlight: number }> {
  const samples = (await (await fetch(`${url}/metrics`)).text()).split('\n');
  const value = (line: string) => Number(line.split(' ').at(-1));
  const inFlight = samples.filter((line) => line.startsWith('embedbench_requests_in_flight{')).map(value);
  const answered = samples.filter((line) => line.startsWith('embedbench_http_requests_total{route="/embed"')).map(value);
  const inFlightNow = inFlight.reduce((sum, count) => sum + count, 0) - 1;
  return { accepted: inFlightNow + answered.reduce((sum, count) => sum + count, 0), inFlight: inFlightNow };
}

describe('SIGTERM under load', () => {
  it('answers every accepted request 200, refuses new connections, exits 0', { timeout: 120_000 }, async () => {
    // One request at a time, each of 64 long texts: the accepted ones are still queued when SIGTERM lands.
    const server = serve(['--model', TINY_MODERNBERT, '--batching', 'false', '--workers', '1', '--intra-op-threads', '1', '--log-level', 'info']);
    const url = await server.url;
    const texts = Array.from({ length: 64 }, (_, row) => `passage ${row} ${'about rivers and the hills around them '.repeat(20)}`);
    const accepted = 12;
    const requests = Array.from({ length: accepted }, () =>
      postJson(`${url}/embed`, { texts }).then(async (response) => ({ status: response.status, rows: ((await response.json()) as { num_embeddings?: number }).num_embeddings })),
    );
    let counts = await embedRequests(url);
    while (counts.accepted < accepted) {
      await sleep(5);
      counts = await embedRequests(url);
    }
    server.kill('SIGTERM');
    assert.ok(counts.inFlight > 0, 'SIGTERM landed while requests were in flight');
    console.log(`SIGTERM with ${counts.inFlight} of ${accepted} accepted requests still in flight`);
    const answers = await Promise.all(requests);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array.from({ length: accepted }, () => 200),
      'every request accepted before SIGTERM is answered 200',
    );
    assert.ok(answers.every((answer) => answer.rows === texts.length));
    await assert.rejects(rawRequest(url, [requestBytes('GET', '/health', {})]), { code: 'ECONNREFUSED' }, 'a new connection after SIGTERM is refused');
    const stoppingSince = performance.now();
    const { code, stderr } = await server.exited;
    assert.equal(code, 0, stderr);
    assert.ok(performance.now() - stoppingSince < 10_000, 'kept-alive client connections do not hold the shutdown open');
  });
});

describe('a missing or corrupt model at start-up', () => {
  async function brokenModel(damage: (dir: string) => Promise<void>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'embedbench-broken-model-'));
    await cp(TINY_MODERNBERT, dir, { recursive: true });
    await damage(dir);
    return dir;
  }

  const cases: Array<[string, (dir: string) => Promise<void>, string[], RegExp]> = [
    ['a missing onnx/model.onnx', (dir) => rm(join(dir, 'onnx', 'model.onnx')), ['--dtype', 'fp32'], /model\.onnx/],
    ['a corrupt onnx/model.onnx', (dir) => writeFile(join(dir, 'onnx', 'model.onnx'), 'not a protobuf'), ['--dtype', 'fp32'], /cannot load the onnx model/],
    ['a truncated tokenizer.json', (dir) => writeFile(join(dir, 'tokenizer.json'), '{"model": {"vocab'), [], /tokenizer/i],
    ['a corrupt config.json', (dir) => writeFile(join(dir, 'config.json'), '{'), [], /config\.json/],
  ];
  for (const [name, damage, extra, expected] of cases) {
    it(`exits non-zero with one clear error line for ${name}`, { timeout: 60_000 }, async () => {
      const dir = await brokenModel(damage);
      try {
        const { code, stderr } = await serve(['--model', dir, '--log-level', 'silent', ...extra]).exited;
        assert.notEqual(code, 0);
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
        assert.match(lines[0]!, /^embedbench: failed to load the model from /);
        assert.match(lines[0]!, expected);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

