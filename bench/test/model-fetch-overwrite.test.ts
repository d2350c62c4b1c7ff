import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withHubTestServer } from './hub-test-server.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repoRoot, 'bench', 'dist', 'src', 'cli.js');
const synthesized = join(repoRoot, '.cache', 'test-models', 'modernbert-tiny');
const modelId = 'embedbench/modernbert-tiny';

function fetchCli(endpoint: string, out: string, ...extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'model', 'fetch', modelId, '--out', out, '--variants', 'fp32', ...extra], {
      env: { PATH: process.env.PATH ?? '', HF_ENDPOINT: endpoint, HF_TOKEN: 'hf_test' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('embedbench model fetch into a folder that holds other files', () => {
  it('refuses to replace files it did not download, names them, and replaces them with --force', () =>
    withHubTestServer({ models: { [modelId]: synthesized }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      await mkdir(out);
      await writeFile(join(out, 'config.json'), '{"model_type": "mine"}');
      await writeFile(join(out, 'tokenizer.json'), '{}');
      await writeFile(join(out, 'notes.txt'), 'not in the repository');
      const refused = await fetchCli(server.endpoint, out);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        `embedbench: ${out} already exists (config.json and tokenizer.json, not downloaded from ${modelId}@main by model fetch); pass --force to overwrite it\n`,
      );
      assert.equal(await readFile(join(out, 'config.json'), 'utf8'), '{"model_type": "mine"}');
      assert.ok(!server.requests.some((request) => request.path.includes('/resolve/')), 'nothing downloaded');

      const forced = await fetchCli(server.endpoint, out, '--force');
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(await readFile(join(out, 'config.json')), await readFile(join(synthesized, 'config.json')));
      assert.ok(existsSync(join(out, 'notes.txt')), 'files outside the download are left alone');
    }));

  it('resumes its own earlier download without --force', () =>
    withHubTestServer({ models: { [modelId]: synthesized }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      assert.equal((await fetchCli(server.endpoint, out)).code, 0);
      const again = await fetchCli(server.endpoint, out);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /0 downloaded, \d+ already present/);
    }));

  it('takes a file of exactly the listed size that the record misses (an interrupted run) as its own', () =>
    withHubTestServer({ models: { [modelId]: synthesized }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      await mkdir(out);
      await cp(join(synthesized, 'config.json'), join(out, 'config.json'));
      const result = await fetchCli(server.endpoint, out);
      assert.equal(result.code, 0, result.stderr);
    }));
});
