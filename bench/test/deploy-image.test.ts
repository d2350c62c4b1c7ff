/**
 * The CPU images, built for real with podman from the locally made base images
 * (scripts/setup-images.sh), then run with the tiny model mounted as a volume.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { findFreePort } from '../src/compare/runtimes/support.js';
import { commandExists, missingPrerequisite, mustRun, runCommand, TINY_MODEL, withServingContainer } from './deploy-support.js';

const BACKENDS = ['transformers', 'onnx'] as const;

async function podmanMissing(): Promise<string | undefined> {
  if (!(await commandExists('podman'))) return 'podman is not installed';
  if ((await runCommand('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'])).code !== 0) return 'podman is installed but does not work';
  if (!existsSync(TINY_MODEL)) return `the tiny test model is missing at ${TINY_MODEL}`;
  return undefined;
}

test('CPU images build with podman from the local base images', { timeout: 1_200_000 }, async (t) => {
  if (missingPrerequisite(t, await podmanMissing())) return;
  await mustRun('bash', ['scripts/setup-images.sh'], { timeoutMs: 1_200_000 });
  for (const backend of BACKENDS) {
    const image = `embedbench/${backend}:cpu`;
    const [inspected] = JSON.parse(await mustRun('podman', ['image', 'inspect', image])) as Array<{
      Config: { User?: string; Env?: string[] };
      Healthcheck?: { Test?: string[] };
    }>;
    const config = inspected!.Config;
    assert.equal(config.User, 'embedbench', `${image} must run as the non-root user`);
    assert.match(JSON.stringify(inspected!.Healthcheck?.Test), /\/health\/ready/);
    assert.ok(config.Env?.includes(`EMBEDBENCH_BACKEND=${backend}`));
    assert.ok(config.Env?.includes('EMBEDBENCH_DEVICE=cpu'));
    // Pruned to production dependencies, and no CUDA provider in the CPU variant.
    const probe = 'test ! -e /app/node_modules/typescript && test ! -e /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so && id -u';
    assert.notEqual((await mustRun('podman', ['run', '--rm', '--entrypoint', 'sh', image, '-c', probe])).trim(), '0');
  }
});

for (const backend of BACKENDS) {
  test(`embedbench/${backend}:cpu serves /health and /embed with the model mounted as a volume`, { timeout: 300_000 }, async (t) => {
    if (missingPrerequisite(t, await podmanMissing())) return;
    const image = `embedbench/${backend}:cpu`;
    if ((await runCommand('podman', ['image', 'exists', image])).code !== 0) assert.fail(`${image} was not built (the build test above failed)`);
    const port = await findFreePort();
    const name = `embedbench-deploy-test-${backend}-${port}`;
    const runArgs = ['--env', `EMBEDBENCH_PORT=${port}`, '--volume', `${TINY_MODEL}:/models/model:ro`, image];
    await withServingContainer(name, port, runArgs, async (base, logs) => {
      const health = (await (await fetch(`${base}/health`)).json()) as { status: string; backend: string; model: string; gpu_available: boolean };
      assert.equal(health.status, 'healthy');
      assert.equal(health.backend.startsWith(backend), true, `backend reported as ${health.backend}`);
      assert.equal(health.gpu_available, false);

      const response = await fetch(`${base}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: ['a container serves embeddings', 'the model is mounted read-only'] }),
      });
      assert.equal(response.status, 200, await logs());
      const body = (await response.json()) as { embeddings: number[][]; num_embeddings: number; embedding_dim: number };
      assert.equal(body.num_embeddings, 2);
      assert.equal(body.embeddings.length, 2);
      assert.ok(body.embedding_dim > 0 && body.embeddings.every((row) => row.length === body.embedding_dim && row.every(Number.isFinite)));
      for (const header of ['x-queue-time', 'x-tokenization-time', 'x-inference-time', 'x-total-time']) {
        assert.ok(response.headers.get(header) !== null, `missing ${header}`);
      }
      // The image's own HEALTHCHECK command, run inside the container.
      const healthcheck = await runCommand('podman', ['healthcheck', 'run', name]);
      assert.equal(healthcheck.code, 0, `HEALTHCHECK failed: ${healthcheck.stdout}${healthcheck.stderr}`);
    });
  });
}
