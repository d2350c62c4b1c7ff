/**
 * Apptainer is not installable here (no Debian package, no registry), so apptainer.def cannot be
 * built. What can be checked: it bootstraps from the image docker/build-images.sh tags, and its
 * %post, %environment and %startscript, run by /bin/sh in that image's CPU twin with podman in the
 * order Apptainer uses (the --env value last, as `apptainer instance start --env` would), serve.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { findFreePort } from '../src/compare/runtimes/support.js';
import { commandExists, missingPrerequisite, REPO_ROOT, runCommand, TINY_MODEL, withServingContainer } from './deploy-support.js';

const CPU_TWIN = 'embedbench/onnx:cpu';

interface Definition {
  header: Record<string, string>;
  sections: Record<string, string>;
}

async function readDefinition(): Promise<Definition> {
  const header: Record<string, string> = {};
  const sections: Record<string, string> = {};
  let current: string | undefined;
  for (const line of (await readFile(join(REPO_ROOT, 'apptainer.def'), 'utf8')).split('\n')) {
    const section = /^%(\w+)\s*$/.exec(line);
    if (section) {
      current = section[1]!;
      sections[current] = '';
    } else if (current !== undefined) {
      sections[current] += `${line}\n`;
    } else {
      const field = /^(\w+):\s*(.+)$/.exec(line);
      if (field) header[field[1]!] = field[2]!.trim();
    }
  }
  return { header, sections };
}

test('apptainer.def bootstraps from the onnx image and defines environment, run and start scripts', async () => {
  const { header, sections } = await readDefinition();
  assert.equal(header.Bootstrap, 'docker-daemon');
  assert.equal(header.From, 'embedbench/onnx:latest', 'must match the tag docker/build-images.sh gives the GPU onnx image');
  for (const name of ['environment', 'runscript', 'startscript', 'post']) assert.ok(sections[name]?.trim(), `%${name} is empty or missing`);
  assert.match(sections.runscript!, /serve "\$@"/);
});

for (const backend of ['onnx', 'transformers'] as const) {
  test(`%post, %environment and %startscript serve the ${backend} backend in the image's CPU twin`, { timeout: 180_000 }, async (t) => {
    if (missingPrerequisite(t, (await commandExists('podman')) ? undefined : 'podman is not installed')) return;
    if ((await runCommand('podman', ['image', 'exists', CPU_TWIN])).code !== 0) assert.fail(`${CPU_TWIN} is missing (scripts/setup-images.sh builds it)`);
    assert.ok(existsSync(TINY_MODEL), `the tiny test model is missing at ${TINY_MODEL}`);
    const { sections } = await readDefinition();
    const port = await findFreePort();
    const name = `embedbench-apptainer-emulation-${backend}-${port}`;
    // --env values win over %environment in Apptainer; the onnx image's own default backend is onnx.
    const envFlags = [`EMBEDBENCH_PORT=${port}`, ...(backend === 'onnx' ? [] : [`EMBEDBENCH_BACKEND=${backend}`])];
    const script = [sections.post, sections.environment, ...envFlags.map((pair) => `export ${pair}`), 'embedbench --help >/dev/null', sections.startscript].join('\n');
    const runArgs = ['--user', 'root', '--entrypoint', '/bin/sh', '--volume', `${TINY_MODEL}:/models/model:ro`, CPU_TWIN, '-c', script];
    await withServingContainer(name, port, runArgs, async (base) => {
      const health = (await (await fetch(`${base}/health`)).json()) as { backend: string };
      assert.ok(health.backend.startsWith(backend), `serving ${health.backend}`);
    });
  });
}
