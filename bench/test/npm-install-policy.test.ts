import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

interface Manifest {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Every installed package folder under `nodeModules`, scoped and nested ones included. */
function installedPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(nodeModules, entry.name, e.name))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      if (existsSync(join(dir, 'package.json'))) found.push(dir);
      found.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return found;
}

/** npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script of its own. */
function hasInstallScript(dir: string, manifest: Manifest): boolean {
  return INSTALL_SCRIPTS.some((script) => manifest.scripts?.[script] !== undefined) || existsSync(join(dir, 'binding.gyp'));
}

describe('npm install-script policy (package.json allowScripts)', () => {
  const policy = readManifest(ROOT).allowScripts ?? {};
  const covers = (manifest: Manifest) => policy[manifest.name] !== undefined || policy[`${manifest.name}@${manifest.version}`] !== undefined;

  it('decides for every installed package that has an install script', () => {
    const packages = installedPackages(join(ROOT, 'node_modules'));
    assert.ok(packages.length > 100, `expected an installed tree under ${ROOT}node_modules`);
    const undecided = packages
      .map((dir) => ({ dir, manifest: readManifest(dir) }))
      .filter(({ dir, manifest }) => hasInstallScript(dir, manifest) && !covers(manifest))
      .map(({ manifest }) => `${manifest.name}@${manifest.version}`);
    assert.deepEqual(undecided, [], 'add these to allowScripts (npm install-scripts approve|deny)');
  });

  it("denies onnxruntime-node's CUDA download, and its bundled cpu and webgpu providers load", () => {
    assert.equal(policy['onnxruntime-node'], false);
    const ort = createRequire(import.meta.url)('onnxruntime-node') as { listSupportedBackends(): Array<{ name: string }> };
    const backends = ort.listSupportedBackends().map((backend) => backend.name);
    for (const name of ['cpu', 'webgpu']) assert.ok(backends.includes(name), `onnxruntime-node lists ${backends.join(', ')}`);
  });

  it('the root package.json has a script that runs the CUDA provider download for GPU machines', () => {
    const script = readManifest(ROOT).scripts?.['install-cuda-providers'] ?? '';
    assert.match(script, /ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
    assert.ok(existsSync(join(ROOT, 'node_modules/onnxruntime-node/script/install.js')));
  });

  it('npm and `npx embedbench --help` print no warnings in the project', () => {
    for (const args of [['config', 'get', 'fund'], ['exec', '--', 'embedbench', '--help']]) {
      const result = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '', `npm ${args.join(' ')} wrote to stderr`);
    }
  });
});
