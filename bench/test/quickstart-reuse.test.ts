import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { preparePassages, QUICKSTART_SYNTHETIC_DIR, resolveModel } from '../src/compare/inputs.js';
import { parseCompareOptions } from '../src/compare/options.js';

const TINY_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '../../../.cache/test-models/modernbert-tiny');
const originalDirectory = process.cwd();
const originalEndpoint = process.env.HF_ENDPOINT;
let workDir: string;

// The quick start works relative to the current folder; the Hub is made unreachable (port 9, discard).
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-quickstart-'));
  process.chdir(workDir);
  process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
});
after(async () => {
  process.chdir(originalDirectory);
  if (originalEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = originalEndpoint;
  await rm(workDir, { recursive: true, force: true });
});

test('a second quick start reuses the synthetic model and the passages the first one made', async () => {
  await cp(TINY_MODEL, QUICKSTART_SYNTHETIC_DIR, { recursive: true });
  const configBefore = await stat(join(QUICKSTART_SYNTHETIC_DIR, 'config.json'));
  const settings = parseCompareOptions({});
  assert.equal(settings.preset, 'quickstart');
  await mkdir(dirname(settings.dataPath), { recursive: true });
  const passages = ['{"pid":"1","text":"made by the first run"}', '{"pid":"2","text":"also from then"}'];
  await writeFile(settings.dataPath, `${passages.join('\n')}\n`);

  const notes: string[] = [];
  const model = await resolveModel(settings, (text) => notes.push(text));
  assert.equal(model.dir, QUICKSTART_SYNTHETIC_DIR);
  assert.equal(model.record.synthetic, true);
  assert.equal((await stat(join(QUICKSTART_SYNTHETIC_DIR, 'config.json'))).mtimeMs, configBefore.mtimeMs, 'not synthesized again');
  assert.ok(!notes.join('').includes('already exists'), notes.join(''));

  const data = await preparePassages(settings, (text) => notes.push(text));
  assert.deepEqual(data.passages.map((passage) => passage.pid), ['1', '2']);
  assert.equal(await readFile(settings.dataPath, 'utf8'), `${passages.join('\n')}\n`, 'the passages file is not rewritten');
});
