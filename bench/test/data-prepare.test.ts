import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePassagesJsonl } from '@embedbench/loadtest/passages';
import { encodePassages, type Passage } from '../src/data/format.js';
import { syntheticPassages } from '../src/data/synthetic.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function prepare(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'data', 'prepare', ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Reads a prepared file with the load drivers' own parser and checks it holds nothing else. */
async function readPassages(path: string): Promise<Passage[]> {
  const content = await readFile(path);
  const passages = parsePassagesJsonl(content.toString('utf8'), path);
  assert.ok(encodePassages(passages).equals(content), 'exactly one {"pid","text"} object per line, newline-terminated');
  assert.ok(passages.every((passage) => passage.pid !== ''));
  assert.match(content.toString('utf8'), /^\{"pid":"[^"]+","text":".+"\}\n/);
  assert.ok(content.at(-1) === 0x0a, 'the last line ends with a newline');
  return passages;
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'embedbench-data-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('data prepare --source synthetic', () => {
  test('writes --count passages as {"pid","text"} JSON Lines, the same bytes for the same seed', async () => {
    const out = (name: string) => join(scratch, 'synthetic', name);
    const first = await prepare(['--source', 'synthetic', '--count', '1500', '--seed', '3', '--out', out('a.jsonl')]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote 1500 passages \(synthetic, seed 3\) to .*a\.jsonl in \d+\.\d s/);
    const passages = await readPassages(out('a.jsonl'));
    assert.equal(passages.length, 1500);
    assert.deepEqual(passages.slice(0, 3).map((passage) => passage.pid), ['0', '1', '2']);
    assert.ok(passages.every((passage) => /^[A-Z0-9]/.test(passage.text) && /[.?!]$/.test(passage.text)));

    assert.equal((await prepare(['--source', 'synthetic', '--count', '1500', '--seed', '3', '--out', out('b.jsonl')])).code, 0);
    assert.equal((await prepare(['--source', 'synthetic', '--count', '1500', '--seed', '4', '--out', out('c.jsonl')])).code, 0);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => readFile(out(`${name}.jsonl`))));
    assert.ok(a!.equals(b!), 'same seed, same bytes');
    assert.ok(!a!.equals(c!), 'another seed, other passages');
    assert.deepEqual((await readdir(join(scratch, 'synthetic'))).sort(), ['a.jsonl', 'b.jsonl', 'c.jsonl'], 'no temp files left');
  });

  test('refuses to overwrite an existing --out, naming it, and replaces it with --force', async () => {
    const out = join(scratch, 'synthetic', 'existing.jsonl');
    await writeFile(out, '{"pid":"mine","text":"keep me"}\n');
    const args = ['--source', 'synthetic', '--count', '5', '--out', out];
    const refused = await prepare(args);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `embedbench: ${out} already exists (a 32-byte file); pass --force to overwrite it\n`);
    assert.equal(await readFile(out, 'utf8'), '{"pid":"mine","text":"keep me"}\n');
    const forced = await prepare([...args, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await readPassages(out)).length, 5);
    await rm(out);
  });

  test('word counts follow MS MARCO: mean 45..70 words, some passages past 200 words', () => {
    const counts = syntheticPassages(20_000, 42).map((passage) => wordCount(passage.text));
    const mean = counts.reduce((sum, count) => sum + count, 0) / counts.length;
    const sorted = [...counts].sort((a, b) => a - b);
    assert.ok(mean >= 45 && mean <= 70, `mean ${mean.toFixed(1)} words`);
    assert.ok(sorted[counts.length / 2]! < mean, 'right-skewed: median below mean');
    assert.ok(counts.filter((count) => count > 200).length >= 5, 'a tail past 200 words');
  });
});

describe('data prepare --source PATH.tsv', () => {
  const distinct = Array.from({ length: 60 }, (_, index) => `Passage number ${index} talks about topic ${index % 7}.`);
  let collection: string;
  const duplicateLines = 15;
  const malformedLines = ['no tab on this line', '\tmissing pid', '17\t   ', 'a\tb\tc'];

  before(async () => {
    const lines = distinct.map((text, index) => `${1000 + index}\t${text}`);
    for (let i = 0; i < duplicateLines; i++) lines.splice(3 + i * 4, 0, `${5000 + i}\t${distinct[i * 3]!}  `);
    malformedLines.forEach((line, i) => lines.splice(10 + i * 9, 0, line));
    collection = join(scratch, 'collection.tsv');
    await writeFile(collection, `${lines.join('\r\n')}\r\n`);
  });

  test('keeps every distinct passage once and counts duplicates and malformed lines', async () => {
    const out = join(scratch, 'tsv', 'all.jsonl');
    const result = await prepare(['--source', collection, '--count', '1000', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const total = distinct.length + duplicateLines + malformedLines.length;
    assert.match(result.stdout, new RegExp(`read ${total} lines of .*: ${malformedLines.length} malformed skipped, ${duplicateLines} duplicate passages dropped`));
    const passages = await readPassages(out);
    assert.deepEqual(passages.map((passage) => passage.text), distinct, 'file order, each text once');
    assert.deepEqual(passages.map((passage) => passage.pid), distinct.map((_, index) => String(1000 + index)), 'first pid of a text wins');
  });

  test('samples --count distinct passages, the same for the same seed', async () => {
    const sample = async (seed: string, name: string) => {
      const out = join(scratch, 'tsv', name);
      const result = await prepare(['--source', collection, '--count', '20', '--seed', seed, '--out', out]);
      assert.equal(result.code, 0, result.stderr);
      return readPassages(out);
    };
    const first = await sample('1', 'a.jsonl');
    assert.equal(first.length, 20);
    assert.equal(new Set(first.map((passage) => passage.text)).size, 20);
    assert.ok(first.every((passage) => distinct.includes(passage.text)));
    assert.notDeepEqual(first.map((passage) => passage.text), distinct.slice(0, 20), 'not just the head of the file');
    assert.deepEqual(await sample('1', 'b.jsonl'), first);
    assert.notDeepEqual(await sample('2', 'c.jsonl'), first);
  });
});

describe('data prepare --source msmarco', () => {
  test('samples the cached collection.tsv without touching the network', async () => {
    const cacheDir = join(scratch, 'cache');
    await mkdir(join(cacheDir, 'msmarco'), { recursive: true });
    await writeFile(join(cacheDir, 'msmarco', 'collection.tsv'), '0\tFirst cached passage.\n1\tSecond cached passage.\n');
    const out = join(scratch, 'msmarco.jsonl');
    const result = await prepare(['--source', 'msmarco', '--count', '5', '--cache-dir', cacheDir, '--out', out], {
      HF_ENDPOINT: 'http://127.0.0.1:9',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readPassages(out), [
      { pid: '0', text: 'First cached passage.' },
      { pid: '1', text: 'Second cached passage.' },
    ]);
  });

  test('fails fast with one line when the Hub is unreachable', async () => {
    const out = join(scratch, 'offline.jsonl');
    const result = await prepare(['--source', 'msmarco', '--cache-dir', join(scratch, 'empty-cache'), '--out', out], {
      HF_ENDPOINT: 'http://127.0.0.1:9',
      EMBEDBENCH_HUB_RETRIES: '0',
    });
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^embedbench: /);
    assert.ok(!existsSync(out));
  });
});

describe('data prepare rejects bad options with one line and a non-zero exit', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a zero count', ['--source', 'synthetic', '--count', '0'], /--count must be at least 1/],
    ['a non-numeric count', ['--source', 'synthetic', '--count', 'lots'], /--count must be a whole number/],
    ['a negative seed', ['--source', 'synthetic', '--seed', '-3'], /--seed must be a whole number/],
    ['a missing collection file', ['--source', '/nonexistent/collection.tsv'], /no such file/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const out = join(scratch, 'rejected.jsonl');
      const result = await prepare([...args, '--out', out]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.ok(!existsSync(out));
    });
  }

  test('an output path that cannot be written', async () => {
    const blocker = join(scratch, 'a-file');
    await writeFile(blocker, 'not a directory');
    const result = await prepare(['--source', 'synthetic', '--count', '3', '--out', join(blocker, 'passages.jsonl')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^embedbench: cannot write .*passages\.jsonl/);
  });
});
