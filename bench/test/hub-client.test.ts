import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubClient, type HubFile, type HubRepo } from '../src/hub/client.js';
import { hubOptionsFromEnv, type HubClientOptions } from '../src/hub/config.js';
import { HubError } from '../src/hub/errors.js';
import { withHubTestServer, type HubTestServer, type HubTestServerOptions } from './hub-test-server.js';

const repo: HubRepo = { type: 'model', id: 'acme/tiny-model', revision: 'main' };
let folder: string;
let weights: Buffer;

function clientFor(endpoint: string, overrides: Partial<HubClientOptions> = {}): HubClient {
  return new HubClient(
    hubOptionsFromEnv({ endpoint, connectTimeoutMs: 2000, readTimeoutMs: 2000, retryBaseDelayMs: 10, ...overrides }, {}),
  );
}

async function rejectsWith(promise: Promise<unknown>, reason: HubError['reason'], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HubError, `expected a HubError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, pattern);
    return true;
  });
}

before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'hub-client-'));
  weights = randomBytes(300_000);
  await mkdir(join(folder, 'onnx'));
  await writeFile(join(folder, 'onnx', 'model.onnx'), weights);
  await writeFile(join(folder, 'config.json'), '{"hidden_size": 16}');
});
after(() => rm(folder, { recursive: true, force: true }));

/** A server for `folder`, a client for it (closed afterwards) and a scratch folder. */
function withHub(
  serverOptions: Omit<HubTestServerOptions, 'models'>,
  body: (client: HubClient, server: HubTestServer, scratch: string) => Promise<void>,
  clientOverrides: Partial<HubClientOptions> = {},
): Promise<void> {
  return withHubTestServer({ models: { [repo.id]: folder }, ...serverOptions }, async (server, scratch) => {
    const client = clientFor(server.endpoint, clientOverrides);
    try {
      await body(client, server, scratch);
    } finally {
      await client.close();
    }
  });
}

async function listedWeights(client: HubClient): Promise<HubFile> {
  const file = (await client.listFiles(repo)).find((entry) => entry.path === 'onnx/model.onnx');
  assert.ok(file, 'the listing has onnx/model.onnx');
  return file;
}

function rangeStarts(server: HubTestServer): number[] {
  return server.requests.flatMap((request) => (request.range === undefined ? [] : [Number(/^bytes=(\d+)-$/.exec(request.range)?.[1])]));
}

describe('HubClient.listFiles', () => {
  it('follows paginated tree listings and reports sizes and LFS sha256', () =>
    withHub({ treePageSize: 1 }, async (client, server) => {
      const files = await client.listFiles(repo);
      assert.deepEqual(
        files.map((file) => [file.path, file.size]),
        [['config.json', 19], ['onnx/model.onnx', weights.length]],
      );
      assert.match(files[1]?.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(files[0]?.sha256, undefined);
      assert.ok(server.requests.filter((request) => request.path.startsWith('/api/models/')).length >= 3);
    }));
});

describe('HubClient.downloadFile', () => {
  it('downloads through a redirect and verifies size and sha256', () =>
    withHub({ redirectDownloads: true }, async (client, server, out) => {
      await client.downloadFile(repo, await listedWeights(client), join(out, 'model.onnx'));
      assert.deepEqual(await readFile(join(out, 'model.onnx')), weights);
      assert.equal(existsSync(join(out, 'model.onnx.incomplete')), false);
      assert.ok(server.requests.some((request) => request.path.startsWith('/cdn/')));
    }));

  it('keeps an interrupted download and resumes it with a Range request', () =>
    withHub({ interrupt: { path: 'model.onnx', afterBytes: 100_000, times: 1 } }, async (client, server, out) => {
      const destination = join(out, 'model.onnx');
      const file = await listedWeights(client);
      const noRetries = clientFor(server.endpoint, { maxRetries: 0 });
      try {
        await rejectsWith(noRetries.downloadFile(repo, file, destination), 'http', /gave up after 1 attempts \(run again to resume\)/);
      } finally {
        await noRetries.close();
      }
      const partialBytes = (await stat(`${destination}.incomplete`)).size;
      assert.ok(partialBytes > 0 && partialBytes <= 100_000, `the partial file holds ${partialBytes} bytes`);

      await client.downloadFile(repo, file, destination);
      assert.deepEqual(await readFile(destination), weights);
      assert.deepEqual(rangeStarts(server), [partialBytes]);
    }));

  it('retries dropped connections within one call, resuming each time', () =>
    withHub(
      { interrupt: { path: 'model.onnx', afterBytes: 50_000, times: 2 } },
      async (client, server, out) => {
        await client.downloadFile(repo, await listedWeights(client), join(out, 'model.onnx'));
        assert.deepEqual(await readFile(join(out, 'model.onnx')), weights);
        const starts = rangeStarts(server);
        assert.equal(starts.length, 2);
        assert.ok(starts[0]! > 0 && starts[1]! > starts[0]!, `resumed at ${starts.join(', ')}`);
      },
      { maxRetries: 3 },
    ));

  it('rejects a file whose size differs from the listing and leaves nothing behind', () =>
    withHub({ reportedSizes: { 'onnx/model.onnx': weights.length + 10 } }, async (client, _server, out) => {
      await rejectsWith(client.downloadFile(repo, await listedWeights(client), join(out, 'model.onnx')), 'integrity', /listing says 300010/);
      assert.equal(existsSync(join(out, 'model.onnx')), false);
      assert.equal(existsSync(join(out, 'model.onnx.incomplete')), false);
    }));

  it('rejects content whose sha256 differs from the listing', async () => {
    const changing = await mkdtemp(join(tmpdir(), 'hub-changing-'));
    await writeFile(join(changing, 'weights.onnx'), weights);
    await withHubTestServer({ models: { [repo.id]: changing } }, async (server, out) => {
      const client = clientFor(server.endpoint);
      try {
        const [file] = await client.listFiles(repo);
        assert.ok(file);
        await writeFile(join(changing, 'weights.onnx'), randomBytes(weights.length));
        await rejectsWith(client.downloadFile(repo, file, join(out, 'copy.onnx')), 'integrity', /sha256 .* does not match/);
        assert.equal(existsSync(join(out, 'copy.onnx')), false);
      } finally {
        await client.close();
        await rm(changing, { recursive: true, force: true });
      }
    });
  });

  it('reports a missing file as not found', () =>
    withHub({}, async (client, _server, out) => {
      await rejectsWith(
        client.downloadFile(repo, { path: 'onnx/missing.onnx', size: 1 }, join(out, 'never')),
        'not-found',
        /acme\/tiny-model@main: onnx\/missing\.onnx was not found on the Hub \(HTTP 404\)/,
      );
    }));
});

describe('HubClient with HF_TOKEN', () => {
  it('sends the token as a Bearer header and explains a refusal without it', () =>
    withHub(
      { requiredToken: 'hf_secret' },
      async (authorized, server, out) => {
        const anonymous = clientFor(server.endpoint);
        const wrongToken = clientFor(server.endpoint, { token: 'hf_wrong' });
        try {
          await rejectsWith(anonymous.listFiles(repo), 'unauthorized', /HTTP 401\): the repository is gated, private or missing; .*set HF_TOKEN/);
          await rejectsWith(wrongToken.listFiles(repo), 'unauthorized', /although HF_TOKEN is set/);
        } finally {
          await Promise.all([anonymous.close(), wrongToken.close()]);
        }
        const config = (await authorized.listFiles(repo)).find((file) => file.path === 'config.json');
        assert.ok(config);
        await authorized.downloadFile(repo, config, join(out, 'config.json'));
        assert.equal(await readFile(join(out, 'config.json'), 'utf8'), '{"hidden_size": 16}');
        assert.equal(server.requests.at(-1)?.authorization, 'Bearer hf_secret');
      },
      { token: 'hf_secret' },
    ));
});

describe('HubClient offline', () => {
  async function closedPort(): Promise<number> {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  async function assertFailsFastOffline(endpoint: string, overrides: Partial<HubClientOptions> = {}): Promise<void> {
    const client = clientFor(endpoint, { maxRetries: 4, retryBaseDelayMs: 2000, ...overrides });
    const started = performance.now();
    try {
      await rejectsWith(client.listFiles(repo), 'offline', /cannot reach the Hugging Face Hub at .*embedbench model synth/);
    } finally {
      await client.close();
    }
    assert.ok(performance.now() - started < 10_000, 'an unreachable Hub must not be retried with backoff');
  }

  it('fails fast on a refused connection', async () => {
    await assertFailsFastOffline(`http://127.0.0.1:${await closedPort()}`);
  });

  it('fails fast on a host name that does not resolve', async () => {
    await assertFailsFastOffline('http://huggingface.invalid');
  });

  it('fails fast when the endpoint accepts connections but never answers', async () => {
    const connections = new Set<Socket>();
    const silent = createTcpServer((socket) => connections.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      await assertFailsFastOffline(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { readTimeoutMs: 1000 });
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('hubOptionsFromEnv', () => {
  it('reads HF_ENDPOINT, HF_TOKEN and the timeouts', () => {
    const options = hubOptionsFromEnv({}, {
      HF_ENDPOINT: 'http://mirror.example/',
      HF_TOKEN: 'hf_x',
      EMBEDBENCH_HUB_CONNECT_TIMEOUT: '2.5',
      HF_HUB_DOWNLOAD_TIMEOUT: '30',
      EMBEDBENCH_HUB_RETRIES: '1',
    });
    assert.deepEqual(
      { ...options },
      { endpoint: 'http://mirror.example', token: 'hf_x', connectTimeoutMs: 2500, readTimeoutMs: 30_000, maxRetries: 1, retryBaseDelayMs: 500 },
    );
    assert.equal(hubOptionsFromEnv({}, {}).endpoint, 'https://huggingface.co');
  });

  it('rejects an endpoint that is not an http(s) URL and a bad timeout', () => {
    assert.throws(() => hubOptionsFromEnv({}, { HF_ENDPOINT: 'ftp://x' }), /must be an http\(s\) URL/);
    assert.throws(() => hubOptionsFromEnv({}, { EMBEDBENCH_HUB_CONNECT_TIMEOUT: 'soon' }), /EMBEDBENCH_HUB_CONNECT_TIMEOUT/);
  });
});
