import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeTokenizerFiles } from '../src/model/tokenizer/index.js';

const FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

async function writtenBytes(root: string, name: string, arch: 'bert' | 'modernbert', seed: number): Promise<Buffer[]> {
  const dir = join(root, name);
  await writeTokenizerFiles(arch, dir, { seed });
  return Promise.all(FILES.map((file) => readFile(join(dir, file))));
}

async function inTempDir(run: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'embedbench-tokenizer-'));
  try {
    await run(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

for (const arch of ['bert', 'modernbert'] as const) {
  test(`${arch}: the same seed writes byte-identical files`, () =>
    inTempDir(async (root) => {
      const first = await writtenBytes(root, 'a', arch, 7);
      const again = await writtenBytes(root, 'b', arch, 7);
      FILES.forEach((file, index) => assert.ok(first[index]!.equals(again[index]!), `${file} differs for the same seed`));
    }));
}

test('another seed learns a different vocabulary', () =>
  inTempDir(async (root) => {
    const [first] = await writtenBytes(root, 'a', 'bert', 7);
    const [other] = await writtenBytes(root, 'b', 'bert', 8);
    assert.ok(!first!.equals(other!), 'tokenizer.json ignores the seed');
  }));
