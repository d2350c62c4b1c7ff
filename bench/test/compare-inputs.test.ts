import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CompareInputError, isSyntheticModel, preparePassages, resolveModel } from '../src/compare/inputs.js';
import { SYNTHETIC_MARKER_KEY } from '../src/model/config.js';
import { parseCompareOptions } from '../src/compare/options.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TINY_MODEL = join(REPO_ROOT, '.cache/test-models/modernbert-tiny');
const quiet = () => {};

let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-inputs-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

test('synthetic weights are recognised by the marker in config.json, and only then', async () => {
  assert.equal(await isSyntheticModel(TINY_MODEL), true);

  const plain = join(workDir, 'plain');
  await mkdir(plain);
  const config = JSON.parse(await readFile(join(TINY_MODEL, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete config[SYNTHETIC_MARKER_KEY];
  await writeFile(join(plain, 'config.json'), JSON.stringify(config));
  assert.equal(await isSyntheticModel(plain), false, 'a config without the marker is taken for real weights');
});

test('--model DIR is used as given and its synthetic weights are recorded as such', async () => {
  const model = await resolveModel(parseCompareOptions({ model: TINY_MODEL }), quiet);
  assert.equal(model.dir, TINY_MODEL);
  assert.deepEqual({ ...model.record, provenance: undefined }, { id: 'modernbert-tiny', path: TINY_MODEL, synthetic: true, provenance: undefined });
  assert.match(model.record.provenance, /--model/);
  const named = await resolveModel(parseCompareOptions({ model: TINY_MODEL, modelId: 'tiny-test' }), quiet);
  assert.equal(named.record.id, 'tiny-test');
});

test('a --model directory without config.json, or a path that does not exist, is a clear error', async () => {
  const empty = join(workDir, 'empty');
  await mkdir(empty);
  await assert.rejects(resolveModel(parseCompareOptions({ model: empty }), quiet), (error: unknown) => error instanceof CompareInputError && /has no config\.json/.test(error.message));
  await assert.rejects(
    resolveModel(parseCompareOptions({ model: join(workDir, 'no-such-model') }), quiet),
    (error: unknown) => error instanceof CompareInputError && /no such directory, and not a Hugging Face id/.test(error.message),
  );
});

test('passages: --num-sentences keeps the first N (in a copy k6 can read); missing or malformed files are clear errors', async () => {
  const path = join(workDir, 'passages.jsonl');
  await writeFile(path, Array.from({ length: 10 }, (_, i) => JSON.stringify({ pid: `p${i}`, text: `passage number ${i}` })).join('\n') + '\n');
  const all = await preparePassages(parseCompareOptions({ model: 'm', data: path, numSentences: '50' }), quiet);
  assert.equal(all.path, path);
  assert.equal(all.passages.length, 10);

  const firstFour = await preparePassages(parseCompareOptions({ model: 'm', data: path, numSentences: '4' }), quiet);
  assert.deepEqual(firstFour.passages.map((passage) => passage.pid), ['p0', 'p1', 'p2', 'p3']);
  assert.notEqual(firstFour.path, path);
  assert.equal((await readFile(firstFour.path, 'utf8')).trim().split('\n').length, 4);
  await rm(firstFour.path);

  await assert.rejects(preparePassages(parseCompareOptions({ model: 'm', data: join(workDir, 'none.jsonl') }), quiet), /not found: run `embedbench data prepare/);
  const broken = join(workDir, 'broken.jsonl');
  await writeFile(broken, '{"pid":"a","text":"ok"}\n{"pid": 3}\n');
  await assert.rejects(preparePassages(parseCompareOptions({ model: 'm', data: broken }), quiet), /broken\.jsonl:2: expected \{"pid": string, "text": string\}/);
  assert.ok(!existsSync(join(workDir, 'none.jsonl')));
});
