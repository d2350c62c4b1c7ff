import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, BackendInfo } from '@embedbench/core/backend';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { probeExecutionProviders } from '../src/providers/probe.js';
import { createBackend } from '../src/registry.js';
import { backendOptions, lavapipe, lavapipeSuiteOptions, testModelDir, tokenize, VARIED_TEXTS } from './support.js';

describe('execution provider probe', () => {
  it('reports webgpu unavailable, with the reason, when no Vulkan driver is installed', async () => {
    const [webgpu] = await probeExecutionProviders(['webgpu'], { env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json' } });
    assert.deepEqual({ ...webgpu, detail: undefined }, { provider: 'webgpu', available: false, gpu: false, detail: undefined });
    assert.match(webgpu!.detail, /no Vulkan driver/);
  });

  it('reports cuda and tensorrt unavailable when their provider libraries are not installed', async () => {
    const probes = await probeExecutionProviders(['tensorrt', 'cuda', 'cpu']);
    assert.deepEqual(probes.map((probe) => [probe.provider, probe.available]), [['tensorrt', false], ['cuda', false], ['cpu', true]]);
    assert.match(probes[1]!.detail, /not installed: libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so missing/);
  });

  it('proves webgpu on a software Vulkan driver by running a session, and does not count it as a GPU', lavapipeSuiteOptions(), async () => {
    const found = lavapipe();
    assert.ok('environment' in found);
    const [webgpu] = await probeExecutionProviders(['webgpu'], { env: { ...process.env, ...found.environment } });
    assert.equal(webgpu!.available, true, webgpu!.detail);
    assert.equal(webgpu!.gpu, false);
    assert.match(webgpu!.detail, /software Vulkan driver \(libvulkan_lvp\.so\)/);
  });
});

/**
 * The WebGPU code path on lavapipe: both backends, compared with the same backend on the CPU (fp32).
 * The onnx backend runs its FP16 file there (the GPU default), and on request its q8f16 file
 * (8-bit MatMulNBits), so its bar is lower than fp32's.
 * Rows are capped at 48 tokens: lavapipe compiles and runs every padded length at start, slowly.
 */
const WEBGPU_LIMITS = { maxSequenceLength: 48 } as const;
const WEBGPU_CASES = [
  { backendName: 'onnx', dtype: 'auto', expectedDtype: 'fp16', minimumCosine: 0.999 },
  { backendName: 'onnx', dtype: 'q8f16', expectedDtype: 'q8f16', minimumCosine: 0.999 },
  { backendName: 'transformers', dtype: 'auto', expectedDtype: 'fp32', minimumCosine: 0.99999 },
] as const;
for (const { backendName, dtype, expectedDtype, minimumCosine } of WEBGPU_CASES) {
  describe(`${backendName} backend on WebGPU (lavapipe), dtype ${dtype}`, lavapipeSuiteOptions(), () => {
    const modelDir = testModelDir('modernbert');
    let onWebgpu: Backend;
    let onCpu: Backend;
    let info: BackendInfo;
    let savedEnvironment: Record<string, string | undefined> = {};

    before(async () => {
      const found = lavapipe();
      assert.ok('environment' in found);
      savedEnvironment = Object.fromEntries(Object.keys(found.environment).map((key) => [key, process.env[key]]));
      Object.assign(process.env, found.environment);
      onWebgpu = await createBackend(backendName, backendOptions(modelDir, { dtype, device: 'webgpu', executionProviders: ['tensorrt', 'cuda', 'webgpu', 'cpu'] }));
      onCpu = await createBackend(backendName, backendOptions(modelDir));
      [info] = await Promise.all([onWebgpu.start(WEBGPU_LIMITS), onCpu.start(WEBGPU_LIMITS)]);
    });
    after(async () => {
      await Promise.all([onWebgpu?.close(), onCpu?.close()]);
      for (const [key, value] of Object.entries(savedEnvironment)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it('runs on webgpu and says why the other providers are not in use', () => {
      assert.equal(info.executionProvider, 'webgpu');
      assert.equal(info.dtype, expectedDtype);
      assert.equal(info.gpuAvailable, false, 'a software Vulkan driver is not a GPU');
      const byProvider = Object.fromEntries(info.providers.map((entry) => [entry.provider, entry]));
      assert.equal(byProvider.webgpu?.status, 'in use');
      assert.match(byProvider.webgpu?.reason ?? '', /software Vulkan driver/);
      if (backendName === 'onnx') {
        assert.deepEqual([byProvider.tensorrt?.status, byProvider.cuda?.status, byProvider.cpu?.status], ['unavailable', 'unavailable', 'skipped']);
        assert.equal(byProvider.cpu?.reason, '--device webgpu');
      }
    });

    it('agrees with the CPU on varied lengths in one batch and one by one', async () => {
      const inputIds = await tokenize(modelDir, VARIED_TEXTS, WEBGPU_LIMITS.maxSequenceLength);
      const batch = { inputIds };
      const [gpuRows, cpuRows] = await Promise.all([onWebgpu.embed(batch), onCpu.embed(batch)]);
      const singles = await Promise.all(inputIds.slice(0, 5).map((ids) => onWebgpu.embed({ inputIds: [ids] })));
      VARIED_TEXTS.forEach((text, i) => {
        const cosine = cosineSimilarity(gpuRows[i]!, cpuRows[i]!);
        assert.ok(cosine >= minimumCosine, `cosine ${cosine} < ${minimumCosine} for ${JSON.stringify(text.slice(0, 40))}`);
      });
      singles.forEach(([row], i) => assert.ok(cosineSimilarity(row!, gpuRows[i]!) >= 0.9999, `row ${i} differs alone and batched`));
    });
  });
}
