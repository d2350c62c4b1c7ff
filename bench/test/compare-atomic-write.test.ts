import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from '../src/fs/atomic.js';

test('writeJsonAtomic creates parent directories, replaces content and leaves no temp files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-atomic-'));
  try {
    const path = join(dir, 'nested', 'index.json');
    await writeJsonAtomic(path, { runs: 1 });
    await writeJsonAtomic(path, { runs: 2 });
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { runs: 2 });
    assert.deepEqual(await readdir(join(dir, 'nested')), ['index.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('concurrent readers never see a torn file while it is rewritten', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-atomic-'));
  try {
    const path = join(dir, 'big.json');
    const payload = (n: number) => ({ n, filler: 'x'.repeat(200_000) });
    await writeJsonAtomic(path, payload(0));
    const writes = (async () => {
      for (let n = 1; n <= 20; n++) await writeJsonAtomic(path, payload(n));
    })();
    let reads = 0;
    let done = false;
    void writes.then(() => (done = true));
    while (!done) {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { n: number; filler: string };
      assert.equal(parsed.filler.length, 200_000);
      reads += 1;
    }
    await writes;
    assert.ok(reads > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic fails clearly when the target is a directory, and cleans its temp file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-atomic-'));
  try {
    await writeFileAtomic(join(dir, 'sub', 'x.txt'), 'x');
    await assert.rejects(writeFileAtomic(join(dir, 'sub'), 'y'), /EISDIR|EEXIST|ENOTEMPTY|directory/i);
    assert.deepEqual((await readdir(dir)).sort(), ['sub']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
