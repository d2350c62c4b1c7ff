import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { hubOptionsFromEnv, type HubClientOptions } from '../src/hub/config.js';
import { HubError } from '../src/hub/errors.js';
import { fetchModel, FETCH_MANIFEST } from '../src/model/fetch.js';
import { HIDDEN_STATE_OUTPUT } from '../src/model/graph-edit.js';
import { FINAL_NORM_TENSOR, maxAbsDifference, runModel, writeLogitsModel } from './fetch-logits-model.js';
import { withHubTestServer, type HubTestServer } from './hub-test-server.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repoRoot, 'bench', 'dist', 'src', 'cli.js');
const shape = { hiddenSize: 16, vocabSize: 40 };
const inputIds = [[1, 4, 8, 15, 16, 23, 2]];
const modelId = 'answerdotai/ModernBERT-base';
let hubFolder: string;
let referenceFolder: string;

function hubOptions(server: HubTestServer, overrides: Partial<HubClientOptions> = {}): HubClientOptions {
  return hubOptionsFromEnv({ endpoint: server.endpoint, token: 'hf_test', retryBaseDelayMs: 10, ...overrides }, {});
}

/** Runs the CLI with a clean environment apart from the given variables; resolves with its exit code and output. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  hubFolder = await mkdtemp(join(tmpdir(), 'fetch-hub-'));
  referenceFolder = await mkdtemp(join(tmpdir(), 'fetch-reference-'));
  await mkdir(join(hubFolder, 'onnx'));
  await writeFile(join(hubFolder, 'config.json'), JSON.stringify({ model_type: 'modernbert', hidden_size: 16, vocab_size: 40 }));
  await writeFile(join(hubFolder, 'tokenizer.json'), '{"version": "1.0"}');
  await writeFile(join(hubFolder, 'tokenizer_config.json'), '{"model_max_length": 8192}');
  await writeFile(join(hubFolder, 'special_tokens_map.json'), '{"cls_token": "[CLS]"}');
  await writeFile(join(hubFolder, 'README.md'), 'not downloaded\n');
  await writeLogitsModel(join(hubFolder, 'onnx'), 'model.onnx', { ...shape, externalDecoderWeight: true });
  await writeLogitsModel(join(hubFolder, 'onnx'), 'model_quantized.onnx', { ...shape, quantized: true });
  await writeLogitsModel(referenceFolder, 'model.onnx', { ...shape, externalDecoderWeight: true, withReferenceOutput: true });
  await writeLogitsModel(referenceFolder, 'model_quantized.onnx', { ...shape, quantized: true, withReferenceOutput: true });
});
after(async () => {
  await rm(hubFolder, { recursive: true, force: true });
  await rm(referenceFolder, { recursive: true, force: true });
});

describe('fetchModel', () => {
  it('downloads a logits-only model and leaves ONNX files that output the final hidden state', () =>
    withHubTestServer({ models: { [modelId]: hubFolder }, requiredToken: 'hf_test', redirectDownloads: true }, async (server, out) => {
      const lines: string[] = [];
      const files = await fetchModel({ modelId, outDir: out, variants: ['fp32', 'q8'], revision: 'main', hub: hubOptions(server), log: (line) => lines.push(line) });
      assert.deepEqual(
        files.map((file) => file.path),
        ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model_quantized.onnx'],
      );
      assert.deepEqual((await readdir(join(out, 'onnx'))).sort(), ['model.onnx', 'model.onnx_data', 'model_quantized.onnx']);
      assert.equal(existsSync(join(out, 'README.md')), false);
      assert.deepEqual(await readFile(join(out, 'onnx', 'model.onnx_data')), await readFile(join(hubFolder, 'onnx', 'model.onnx_data')));
      assert.ok(lines.some((line) => line.includes(`exposed ${FINAL_NORM_TENSOR} as last_hidden_state, removed logits`)));

      for (const file of ['model.onnx', 'model_quantized.onnx']) {
        const fetched = await runModel(join(out, 'onnx', file), inputIds);
        const reference = await runModel(join(referenceFolder, file), inputIds);
        assert.deepEqual(Object.keys(fetched), [HIDDEN_STATE_OUTPUT], `${file} outputs`);
        const difference = maxAbsDifference(fetched[HIDDEN_STATE_OUTPUT]!.data, reference[FINAL_NORM_TENSOR]!.data);
        assert.ok(difference <= 1e-5, `${file}: last_hidden_state differs from final_norm by ${difference}`);
      }
    }));

  it('downloads nothing again on a rerun, edited files included', () =>
    withHubTestServer({ models: { [modelId]: hubFolder }, requiredToken: 'hf_test' }, async (server, out) => {
      const options = { modelId, outDir: out, variants: ['fp32' as const], revision: 'main', hub: hubOptions(server) };
      await fetchModel(options);
      const downloads = server.requests.filter((request) => request.path.includes('/resolve/')).length;
      const again = await fetchModel(options);
      assert.ok(again.every((file) => file.action === 'already present'));
      assert.equal(server.requests.filter((request) => request.path.includes('/resolve/')).length, downloads);
      assert.ok(existsSync(join(out, FETCH_MANIFEST)));
    }));

  it('names the missing variant and the ONNX files that do exist', () =>
    withHubTestServer({ models: { [modelId]: hubFolder }, requiredToken: 'hf_test' }, async (server, out) => {
      await assert.rejects(fetchModel({ modelId, outDir: out, variants: ['fp16'], revision: 'main', hub: hubOptions(server) }), (error: unknown) => {
        assert.ok(error instanceof HubError && error.reason === 'not-found');
        assert.match(error.message, /has no onnx\/model_fp16\.onnx for variant fp16; ONNX files there: onnx\/model\.onnx, onnx\/model_quantized\.onnx/);
        return true;
      });
    }));

  it('fetches an `embedbench model synth` folder unchanged', async () => {
    const synthesized = join(repoRoot, '.cache', 'test-models', 'modernbert-tiny');
    assert.ok(existsSync(join(synthesized, 'onnx', 'model.onnx')), `${synthesized} is made by the test command (model synth) before tests run`);
    await withHubTestServer({ models: { 'embedbench/modernbert-tiny': synthesized }, requiredToken: 'hf_test' }, async (server, out) => {
      const files = await fetchModel({ modelId: 'embedbench/modernbert-tiny', outDir: out, variants: ['fp32', 'fp16'], revision: 'main', hub: hubOptions(server) });
      for (const file of files) {
        assert.equal(file.edit?.changed ?? false, false);
        assert.deepEqual(await readFile(join(out, file.path)), await readFile(join(synthesized, file.path)), file.path);
      }
    });
  });
});

describe('embedbench model fetch', () => {
  it('fetches through HF_ENDPOINT and HF_TOKEN', () =>
    withHubTestServer({ models: { [modelId]: hubFolder }, requiredToken: 'hf_cli' }, async (server, out) => {
      const result = await runCli(['model', 'fetch', modelId, '--out', out, '--variants', 'q8'], { HF_ENDPOINT: server.endpoint, HF_TOKEN: 'hf_cli' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /fetched answerdotai\/ModernBERT-base@main into .*: 5 downloaded, 0 already present/);
      assert.ok(existsSync(join(out, 'onnx', 'model_quantized.onnx')));
    }));

  it('explains a missing token in one line and exits non-zero', () =>
    withHubTestServer({ models: { [modelId]: hubFolder }, requiredToken: 'hf_cli' }, async (server, out) => {
      const result = await runCli(['model', 'fetch', modelId, '--out', out], { HF_ENDPOINT: server.endpoint });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^embedbench: the Hub refused .*set HF_TOKEN.*\n$/);
    }));

  it('fails fast offline with one line that suggests model synth', async () => {
    const out = await mkdtemp(join(tmpdir(), 'fetch-cli-'));
    try {
      const started = performance.now();
      const result = await runCli(['model', 'fetch', modelId, '--out', out], { HF_ENDPOINT: 'http://hub.invalid' });
      assert.ok(performance.now() - started < 10_000, 'offline fetch must not hang or back off');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^embedbench: cannot reach the Hugging Face Hub at http:\/\/hub\.invalid .*embedbench model synth.*\n$/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('rejects an unknown variant before touching the network', async () => {
    const result = await runCli(['model', 'fetch', modelId, '--out', tmpdir(), '--variants', 'fp32,int4'], { HF_ENDPOINT: 'http://hub.invalid' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /expected a comma-separated list of fp32, fp16, q8/);
  });

  it('documents the Hub environment variables in --help', async () => {
    const result = await runCli(['model', 'fetch', '--help'], {});
    assert.equal(result.code, 0);
    for (const variable of ['HF_ENDPOINT', 'HF_TOKEN', 'EMBEDBENCH_HUB_CONNECT_TIMEOUT', 'HF_HUB_DOWNLOAD_TIMEOUT', 'EMBEDBENCH_HUB_RETRIES']) {
      assert.ok(result.stdout.includes(variable), `--help mentions ${variable}`);
    }
  });
});

const tinyModelId = 'embedbench/modernbert-tiny';
const synthesizedTiny = join(repoRoot, '.cache', 'test-models', 'modernbert-tiny');
const fetchTiny = (endpoint: string, out: string, ...extra: string[]) =>
  runCli(['model', 'fetch', tinyModelId, '--out', out, '--variants', 'fp32', ...extra], { HF_ENDPOINT: endpoint, HF_TOKEN: 'hf_test' });

describe('embedbench model fetch into a folder that holds other files', () => {
  it('refuses to replace files it did not download, names them, and replaces them with --force', () =>
    withHubTestServer({ models: { [tinyModelId]: synthesizedTiny }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      await mkdir(out);
      await writeFile(join(out, 'config.json'), '{"model_type": "mine"}');
      await writeFile(join(out, 'tokenizer.json'), '{}');
      await writeFile(join(out, 'notes.txt'), 'not in the repository');
      const refused = await fetchTiny(server.endpoint, out);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        `embedbench: ${out} already exists (config.json and tokenizer.json, not downloaded from ${tinyModelId}@main by model fetch); pass --force to overwrite it\n`,
      );
      assert.equal(await readFile(join(out, 'config.json'), 'utf8'), '{"model_type": "mine"}');
      assert.ok(!server.requests.some((request) => request.path.includes('/resolve/')), 'nothing downloaded');

      const forced = await fetchTiny(server.endpoint, out, '--force');
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(await readFile(join(out, 'config.json')), await readFile(join(synthesizedTiny, 'config.json')));
      assert.ok(existsSync(join(out, 'notes.txt')), 'files outside the download are left alone');
    }));

  it('resumes its own earlier download without --force', () =>
    withHubTestServer({ models: { [tinyModelId]: synthesizedTiny }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      assert.equal((await fetchTiny(server.endpoint, out)).code, 0);
      const again = await fetchTiny(server.endpoint, out);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /0 downloaded, \d+ already present/);
    }));

  it('takes a file of exactly the listed size that the record misses (an interrupted run) as its own', () =>
    withHubTestServer({ models: { [tinyModelId]: synthesizedTiny }, requiredToken: 'hf_test' }, async (server, scratch) => {
      const out = join(scratch, 'model');
      await mkdir(out);
      await cp(join(synthesizedTiny, 'config.json'), join(out, 'config.json'));
      const result = await fetchTiny(server.endpoint, out);
      assert.equal(result.code, 0, result.stderr);
    }));
});
