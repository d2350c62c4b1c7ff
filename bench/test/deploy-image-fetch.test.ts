/**
 * MODEL_SOURCE=fetch: the image build downloads the model with `embedbench model fetch` from a
 * local stand-in for the Hub that demands a token, given as the build secret hf_token. The token
 * must reach the Hub and must not end up anywhere in the image.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { findFreePort } from '../src/compare/runtimes/support.js';
import { commandExists, missingPrerequisite, mustRun, runCommand, TINY_MODEL, withServingContainer } from './deploy-support.js';
import { withHubTestServer } from './hub-test-server.js';

const IMAGE = 'embedbench/onnx:cpu-fetched-test';
const MODEL_ID = 'embedbench-test/modernbert-tiny';
// Made per run, so that no file anywhere holds it unless the build leaked it.
const TOKEN = `hf_${randomBytes(16).toString('hex')}`;

async function prerequisites(): Promise<string | undefined> {
  if (!(await commandExists('podman'))) return 'podman is not installed';
  if (!existsSync(TINY_MODEL)) return `the tiny test model is missing at ${TINY_MODEL}`;
  if ((await runCommand('podman', ['image', 'exists', 'localhost/embedbench-node-base:20'])).code !== 0) return 'the local base images are missing (scripts/make-base-images.sh)';
  return undefined;
}

test('MODEL_SOURCE=fetch bakes the model into the image with the token as a build secret only', { timeout: 900_000 }, async (t) => {
  if (missingPrerequisite(t, await prerequisites())) return;
  await withHubTestServer({ models: { [MODEL_ID]: TINY_MODEL }, requiredToken: TOKEN, redirectDownloads: true }, async (hub, scratch) => {
    const tokenFile = join(scratch, 'token');
    await writeFile(tokenFile, TOKEN);
    try {
      // podman build directly: docker/build-images.sh would also move the embedbench/onnx:cpu tag.
      await mustRun('podman', [
        'build', '--format', 'docker', '--file', 'docker/Dockerfile', '--tag', IMAGE,
        '--build-arg', 'VARIANT=cpu', '--build-arg', 'BACKEND=onnx', '--build-arg', 'PORT=8002',
        '--build-arg', 'NODE_IMAGE=localhost/embedbench-node-base:20',
        '--build-arg', 'CPU_IMAGE=localhost/embedbench-debian-base:bookworm',
        '--build-arg', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
        '--build-arg', 'MODEL_SOURCE=fetch',
        '--build-arg', `MODEL_ID=${MODEL_ID}`,
        // The stand-in Hub listens on the host's loopback, on a new port each run (so no cached model layer).
        '--build-arg', `HF_ENDPOINT=${hub.endpoint}`, '--network', 'host',
        '--secret', `id=hf_token,src=${tokenFile}`,
        '.',
      ], { timeoutMs: 880_000 });
      assert.ok(hub.requests.some((request) => request.path.includes('/resolve/')), 'the build downloaded nothing from the Hub');
      assert.ok(hub.requests.every((request) => request.authorization === `Bearer ${TOKEN}`), 'a Hub request went without the token');

      const history = await mustRun('podman', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', IMAGE]);
      assert.ok(!history.includes(TOKEN), 'the token appears in the image history');
      const inspect = await mustRun('podman', ['image', 'inspect', IMAGE]);
      assert.ok(!inspect.includes(TOKEN), 'the token appears in the image configuration');
      const search = await runCommand('podman', ['run', '--rm', '--user', 'root', '--entrypoint', 'sh', IMAGE, '-c',
        `ls /models/model/onnx/model.onnx && found=$(grep -rlsF '${TOKEN}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev); [ -z "$found" ] || { echo "token found in: $found"; exit 1; }`,
      ], { timeoutMs: 300_000 });
      assert.equal(search.code, 0, `the model is missing or the token is in the image filesystem: ${search.stdout}${search.stderr}`);

      const port = await findFreePort();
      const name = `embedbench-deploy-fetch-${port}`;
      await withServingContainer(name, port, ['--env', `EMBEDBENCH_PORT=${port}`, IMAGE], async (base) => {
        const response = await fetch(`${base}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['baked in'] }) });
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { num_embeddings: number }).num_embeddings, 1);
      });
    } finally {
      await runCommand('podman', ['rmi', '--force', IMAGE]);
    }
  });
});
