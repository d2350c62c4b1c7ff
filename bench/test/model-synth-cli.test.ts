import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'model', 'synth', ...args], { encoding: 'utf8' });

describe('embedbench model synth (errors)', () => {
  it('documents its options in --help', () => {
    const result = cli('--help');
    assert.equal(result.status, 0);
    for (const option of ['--arch', '--size', '--out', '--seed', '--force']) assert.match(result.stdout, new RegExp(option));
  });

  it('rejects an unknown architecture with one line and a non-zero exit', () => {
    const result = cli('--arch', 'gpt2', '--size', 'tiny', '--out', join(tmpdir(), 'never-written'));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /--arch.*gpt2.*bert, modernbert/);
  });

  it('rejects a negative or fractional seed', () => {
    for (const seed of ['-1', '1.5', 'abc']) {
      const result = cli('--arch', 'bert', '--size', 'tiny', '--seed', seed, '--out', join(tmpdir(), 'never-written'));
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /--seed.*non-negative integer/);
    }
  });

  it('refuses to overwrite a non-empty folder, saying what it holds, and replaces it with --force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'embedbench-synth-'));
    try {
      await writeFile(join(dir, 'keep.txt'), 'user data');
      await writeFile(join(dir, 'notes.md'), 'more');
      const refused = cli('--arch', 'bert', '--size', 'tiny', '--out', dir);
      assert.equal(refused.status, 1);
      assert.equal(refused.stderr, `embedbench: ${dir} already exists (a folder holding keep.txt and notes.md); pass --force to overwrite it\n`);
      assert.deepEqual((await readdir(dir)).sort(), ['keep.txt', 'notes.md']);
      const forced = cli('--arch', 'bert', '--size', 'tiny', '--out', dir, '--force');
      assert.equal(forced.status, 0, forced.stderr);
      assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes into an empty folder without --force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'embedbench-synth-'));
    try {
      const result = cli('--arch', 'bert', '--size', 'tiny', '--out', dir);
      assert.equal(result.status, 0, result.stderr);
      assert.ok((await readdir(dir)).includes('config.json'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
