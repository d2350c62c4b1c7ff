/**
 * The main job on the WebGPU code path: `embedbench compare` with both backends served through
 * onnxruntime's WebGPU provider, on lavapipe (Mesa's software Vulkan driver, which
 * scripts/setup-lavapipe.sh unpacks), against the onnx backend on the CPU as the parity baseline.
 * Rows are capped at 48 tokens for every variant: lavapipe compiles each padded length slowly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { resultsIndexSchema } from '../src/result-files/schemas.js';
import { REPO_ROOT, TINY_MODEL, writeTestPassages, type TestPassages } from './compare-support.js';

const execFileAsync = promisify(execFile);
const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');
const LAVAPIPE_ICD = join(REPO_ROOT, '.cache/lavapipe/lvp_icd.json');

let workDir: string;
let data: TestPassages;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-webgpu-'));
  data = await writeTestPassages(workDir, 32, 11);
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

test(
  'compare runs onnx and transformers on WebGPU, records the provider each used, and both agree with the CPU',
  // A visible skip without lavapipe; CI installs it, so there the test runs (and fails without it).
  { timeout: 300_000, skip: existsSync(LAVAPIPE_ICD) || process.env.CI === 'true' ? false : 'run scripts/setup-lavapipe.sh' },
  async () => {
    const resultsDir = join(workDir, 'results');
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        CLI, 'compare',
        '--model', TINY_MODEL,
        '--data', data.path,
        '--backends', 'onnx[max-input-tokens=48]', 'onnx[device=webgpu,max-input-tokens=48]', 'transformers[device=webgpu,max-input-tokens=48]',
        '--batch-sizes', '4',
        '--duration-seconds', '2',
        '--warmup', '0.5',
        '--repeats', '1',
        '--max-concurrent-requests', '2',
        '--driver', 'builtin',
        '--parity-sample', '8',
        '--results-dir', resultsDir,
      ],
      { cwd: workDir, env: { ...process.env, VK_DRIVER_FILES: LAVAPIPE_ICD }, maxBuffer: 16 * 1024 * 1024 },
    );
    const index = resultsIndexSchema.parse(JSON.parse(await readFile(join(resultsDir, 'results_index.json'), 'utf8')));
    const byVariant = Object.fromEntries(index.runs.map((run) => [run.backend, run]));
    for (const run of index.runs) assert.equal(run.status, 'completed', `${run.backend}: ${run.error ?? ''}\n${run.logTail ?? ''}`);
    const webgpuOnnx = byVariant['onnx[device=webgpu,max-input-tokens=48]'];
    const webgpuTransformers = byVariant['transformers[device=webgpu,max-input-tokens=48]'];
    assert.deepEqual([webgpuOnnx?.service?.executionProvider, webgpuOnnx?.service?.dtype], ['webgpu', 'fp16']);
    assert.deepEqual([webgpuTransformers?.service?.executionProvider, webgpuTransformers?.service?.dtype], ['webgpu', 'fp32']);
    assert.equal(byVariant['onnx[max-input-tokens=48]']?.service?.executionProvider, 'cpu');
    const webgpuStatus = webgpuOnnx?.service?.providers?.find((entry) => entry.provider === 'webgpu');
    assert.equal(webgpuStatus?.status, 'in use');
    assert.match(webgpuStatus?.reason ?? '', /software Vulkan driver/);

    const summary = await readFile(join(resultsDir, 'summary_report.txt'), 'utf8');
    assert.match(summary, /onnx\[device=webgpu,max-input-tokens=48\] +onnx\[max-input-tokens=48\] +8 +[\d.]+ +[\d.]+ +0\.99 +agrees/);
    assert.match(summary, /transformers\[device=webgpu,max-input-tokens=48\] +onnx\[max-input-tokens=48\] +8 +[\d.]+ +[\d.]+ +0\.99 +agrees/);
    assert.match(stdout, /wrote summary_report\.txt/);
  },
);
