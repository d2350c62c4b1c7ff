/**
 * The docker runtime against a real Docker Engine API: podman's compatible socket here. It needs the
 * socket and the CPU images, which CI builds with scripts/setup-images.sh; their absence fails the
 * test in CI and is a visible skip elsewhere (deploy-support's rule). From scratch:
 *
 *   bash scripts/setup-podman.sh && bash scripts/make-base-images.sh
 *   docker/build-images.sh --engine podman --variant cpu -- \
 *     --build-arg NODE_IMAGE=localhost/embedbench-node-base:20 --build-arg CPU_IMAGE=localhost/embedbench-debian-base:bookworm
 *   npx tsc -b bench && DOCKER_HOST=unix:///run/embedbench-podman.sock \
 *     node --test bench/dist/test/compare-docker.test.js
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Docker from 'dockerode';
import { runComparison } from '../src/compare/orchestrator.js';
import { defaultImage, dockerRuntime } from '../src/compare/runtimes/docker.js';
import { BackendStartError } from '../src/compare/runtimes/types.js';
import { TINY_MODEL, tinyModelContext, writeTestPassages } from './compare-support.js';
import { missingPrerequisite } from './deploy-support.js';

const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///run/embedbench-podman.sock';
const BACKENDS = ['transformers', 'onnx'];

/** Why the engine cannot run this test, or undefined when it can. */
async function whyDockerUnavailable(docker: Docker): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch (error) {
    return `no Docker API at ${DOCKER_HOST} (${(error as Error).message}); run scripts/setup-podman.sh`;
  }
  for (const backend of BACKENDS) {
    const image = defaultImage(backend, false);
    try {
      await docker.getImage(image).inspect();
    } catch {
      return `image ${image} not built; see docker/build-images.sh --variant cpu`;
    }
  }
  return undefined;
}

test('compare with the docker runtime through the Docker Engine API (podman socket)', { timeout: 300_000 }, async (t) => {
  process.env.DOCKER_HOST = DOCKER_HOST;
  const docker = new Docker();
  if (missingPrerequisite(t, await whyDockerUnavailable(docker))) return;
  const workDir = await mkdtemp(join(tmpdir(), 'embedbench-docker-'));
  try {
    const data = await writeTestPassages(workDir, 60, 5);
    const resultsDir = join(workDir, 'results');
    const context = tinyModelContext(resultsDir, data, { batchSizes: 2, durationSeconds: 2, runtime: 'docker', backends: BACKENDS }, { runtime: dockerRuntime({ docker, stopGraceSeconds: 5 }) });
    const before = new Set((await docker.listContainers({ all: true })).map((container) => container.Id));

    const index = await runComparison(context);
    assert.deepEqual(index.runs.map((run) => [run.backend, run.status]), [['transformers', 'completed'], ['onnx', 'completed']], JSON.stringify(index.runs.map((run) => run.error)));
    for (const run of index.runs) {
      assert.ok(existsSync(join(resultsDir, run.stressFile!)));
      const log = await readFile(join(resultsDir, run.logFile!), 'utf8');
      assert.match(log, new RegExp(`# image ${defaultImage(run.backend, false).replace(/[.:/]/g, '\\$&')}`));
      assert.match(log, /"msg":"model ready"/, 'the container log was collected into the results');
    }
    const leftovers = (await docker.listContainers({ all: true })).filter((container) => !before.has(container.Id));
    assert.deepEqual(leftovers.map((container) => container.Names), [], 'containers are removed after their run');

    // A missing image is a clear start failure, not a crash.
    const runtime = dockerRuntime({ docker, images: { onnx: 'localhost/embedbench/does-not-exist:1' } });
    await assert.rejects(
      runtime.start({ backend: 'onnx', modelDir: TINY_MODEL, modelId: 'x', logPath: join(workDir, 'missing.log'), startupTimeoutMs: 10_000, useGpu: false, serveOptions: {} }),
      (error: unknown) => error instanceof BackendStartError && /could not create a container from localhost\/embedbench\/does-not-exist:1/.test(error.message),
    );
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
});
