import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { chooseGpuSource, dcgmSource, GpuSampler, gpuSamplesFromDcgm, hostHasNvidiaGpu, parseNvidiaSmiCsv, parsePrometheusText } from '../src/compare/gpu.js';

/** The shape dcgm-exporter 3.x serves on /metrics for two GPUs (labels and HELP/TYPE lines as it writes them). */
const DCGM_SCRAPE = `# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1",DCGM_FI_DRIVER_VERSION="550.54.15"} 87
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-3c4d",device="nvidia1",modelName="NVIDIA L40S",Hostname="node1",DCGM_FI_DRIVER_VERSION="550.54.15"} 3
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1"} 12034
DCGM_FI_DEV_FB_USED{gpu="1",UUID="GPU-3c4d",device="nvidia1",modelName="NVIDIA L40S",Hostname="node1"} 1
# HELP DCGM_FI_DEV_FB_FREE Framebuffer memory free (in MiB).
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1"} 33566
# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1"} 231.456
# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1"} 61
# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-1a2b",device="nvidia0",modelName="NVIDIA L40S",Hostname="node1"} 2520
`;

test('parsePrometheusText reads names, labels (with escapes) and values, skipping comments', () => {
  const samples = parsePrometheusText('# HELP x y\nfoo{a="1",b="q\\"uote"} 2.5\nbar 7 1700000000000\n\nnot a sample line !!\n');
  assert.deepEqual(samples, [
    { name: 'foo', labels: { a: '1', b: 'q"uote' }, value: 2.5 },
    { name: 'bar', labels: {}, value: 7 },
  ]);
});

test('gpuSamplesFromDcgm gives one reading per GPU with utilization, memory, power and temperature', () => {
  const readAt = new Date('2026-01-01T00:00:00.000Z');
  const [first, second, ...rest] = gpuSamplesFromDcgm(DCGM_SCRAPE, readAt);
  assert.equal(rest.length, 0);
  assert.deepEqual(first, {
    timestamp: readAt.toISOString(),
    gpu: '0',
    utilizationPercent: 87,
    memoryUsedMiB: 12034,
    memoryTotalMiB: 12034 + 33566,
    powerWatts: 231.456,
    temperatureCelsius: 61,
  });
  assert.equal(second?.gpu, '1');
  assert.equal(second?.utilizationPercent, 3);
  assert.equal(second?.memoryTotalMiB, null, 'no FB_FREE for GPU 1, so the total is unknown');
  assert.equal(second?.powerWatts, null);
});

test('parseNvidiaSmiCsv reads one line per GPU and turns [N/A] into null', () => {
  const output = '2026/01/01 10:00:00.123, 45, 2048, 46068, 120.50, 55\n2026/01/01 10:00:00.124, 0, 1, 46068, [N/A], 30\n';
  const samples = parseNvidiaSmiCsv(output, new Date());
  assert.equal(samples.length, 2);
  assert.deepEqual(
    samples.map((s) => [s.gpu, s.utilizationPercent, s.memoryUsedMiB, s.memoryTotalMiB, s.powerWatts, s.temperatureCelsius]),
    [['0', 45, 2048, 46068, 120.5, 55], ['1', 0, 1, 46068, null, 30]],
  );
  assert.ok(samples[0]!.timestamp.startsWith('2026-01-01T'), samples[0]!.timestamp);
});

test('GpuSampler polls a dcgm-exporter endpoint over HTTP in the background and records failures without stopping', async () => {
  let scrapes = 0;
  const server = createServer((request, response) => {
    scrapes += 1;
    if (scrapes === 2) {
      response.writeHead(500).end('exporter hiccup');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(DCGM_SCRAPE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const sampler = new GpuSampler(dcgmSource(url), 0.02).start();
    while (scrapes < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    const recording = await sampler.stop();
    assert.equal(recording.source, 'dcgm-exporter');
    assert.equal(recording.detail, url);
    assert.ok(recording.samples.length >= 4, `two GPUs per good scrape, got ${recording.samples.length} samples`);
    assert.ok(recording.samples.every((sample) => sample.gpu === '0' || sample.gpu === '1'));
    assert.equal(recording.errors.length, 1);
    assert.match(recording.errors[0]!, /HTTP 500/);
    const scrapesAtStop = scrapes;
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(scrapes, scrapesAtStop, 'no polling after stop()');
  } finally {
    server.close();
  }
});

test('without a URL, the source is nvidia-smi when it finds a GPU, else none with the reason', async () => {
  const source = await chooseGpuSource(undefined);
  if (await hostHasNvidiaGpu()) {
    assert.equal(source.kind, 'nvidia-smi');
  } else {
    assert.equal(source.kind, 'none');
    assert.match(source.detail, /no GPU metrics/);
    const recording = await new GpuSampler(source, 1).start().stop();
    assert.deepEqual(recording.samples, []);
  }
  assert.equal((await chooseGpuSource('http://127.0.0.1:9400/metrics')).kind, 'dcgm-exporter');
});

test('hostHasNvidiaGpu is false when the command does not exist', async () => {
  assert.equal(await hostHasNvidiaGpu('/nonexistent/nvidia-smi'), false);
});
