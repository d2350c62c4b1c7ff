import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { modelDims, SYNTHETIC_MARKER_KEY } from '../src/model/config.js';
import { buildEncoderModel, encoderWeightSpecs } from '../src/model/onnx/encoder.js';
import { writeOnnxModel } from '../src/model/onnx/serialize.js';
import { generateWeights } from '../src/model/onnx/weights.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const EXPECTED_FILES = [
  'config.json',
  'onnx/model.onnx',
  'onnx/model_fp16.onnx',
  'onnx/model_q8f16.onnx',
  'onnx/model_quantized.onnx',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

async function fileHashes(dir: string): Promise<Map<string, string>> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
  const hashes = new Map<string, string>();
  for (const file of files) hashes.set(file, createHash('sha256').update(await readFile(join(dir, file))).digest('hex'));
  return hashes;
}

describe('model synth determinism', () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'embedbench-synth-'));
  });
  after(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes byte-identical folders for the same seed', async () => {
    const outs = [join(workDir, 'first'), join(workDir, 'second')];
    await Promise.all(outs.map((out) => run(process.execPath, [CLI, 'model', 'synth', '--arch', 'bert', '--size', 'tiny', '--seed', '7', '--out', out])));
    const [first, second] = await Promise.all(outs.map(fileHashes));
    assert.deepEqual([...first!.keys()], EXPECTED_FILES);
    assert.deepEqual(second, first);
  });

  it('marks the folder as synthetic in config.json, so no report can present it as the real model', async () => {
    const config = JSON.parse(await readFile(join(workDir, 'first', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config[SYNTHETIC_MARKER_KEY], { arch: 'bert', size: 'tiny', seed: 7 });
  });

  it('draws different weights for a different seed', async () => {
    const dims = modelDims('bert', 'tiny');
    const paths = [join(workDir, 'seed-7.onnx'), join(workDir, 'seed-8.onnx')];
    await writeOnnxModel(paths[0]!, buildEncoderModel(dims, generateWeights(encoderWeightSpecs(dims), 7), 'fp32'));
    await writeOnnxModel(paths[1]!, buildEncoderModel(dims, generateWeights(encoderWeightSpecs(dims), 8), 'fp32'));
    const [seven, eight] = await Promise.all(paths.map((path) => readFile(path)));
    assert.equal(seven!.length, eight!.length);
    assert.ok(!seven!.equals(eight!));
    // The seed-7 file written here is the same one the CLI wrote above.
    const cliFile = await readFile(join(workDir, 'first', 'onnx', 'model.onnx'));
    assert.ok(cliFile.equals(seven!));
  });
});
