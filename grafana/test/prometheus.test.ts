// The dashboards against a real Prometheus (Debian's) that scrapes two running services (the real
// `embedbench serve`, onnx and transformers, on the tiny test model) with the shipped
// docker/prometheus/prometheus.yml, after a short load from the built-in driver and k6-shaped
// results pushed through the remote-write receiver as k6 would push them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDashboards } from '../src/dashboards/index.js';
import { dashboardPanels, substituteVariables } from './panels.js';
import { CLI, freePort, startPrometheus, startService, waitFor, type Running } from './processes.js';
import { remoteWrite, type Labels, type Series } from './remote-write.js';

const BACKENDS = ['onnx', 'transformers'] as const;
type BackendName = (typeof BACKENDS)[number];
const BATCH_SIZE = 4;
/** Small enough that a burst of concurrent requests is turned away with 429. */
const MAX_QUEUE = 1;
const TESTID = 'grafana-test';
/** k6 pushes every 5 s by default; three pushes this far apart give rate() two intervals. */
const PUSH_SPACING_MS = 10_000;
/** Stands in for Grafana's $__rate_interval: long enough to span the pushed k6 points. */
const RATE_INTERVAL = '30s';

interface ClientTiming {
  roundTripSeconds: number;
  headerSeconds: Record<'queue' | 'tokenization' | 'inference' | 'total', number>;
}

interface PromResponse {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] } | string[];
}

async function promApi(prometheus: Running, path: string, params: Record<string, string>): Promise<PromResponse> {
  const response = await fetch(`${prometheus.url}${path}?${new URLSearchParams(params)}`);
  return (await response.json()) as PromResponse;
}

function passages(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `passage ${i}: the quick brown fox jumps over the lazy dog ${'and runs '.repeat(i % 7)}`);
}

/** The built-in load driver (`embedbench load`), a few seconds of closed-model load. */
function runDriver(url: string, backend: BackendName, dataset: string, out: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, 'load', '--base-url', url, '--backend', backend, '--batch-size', String(BATCH_SIZE), '--duration', '3s', '--vus', '1', '--dataset', dataset, '--testid', `${TESTID}-${backend}`, '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    // 99: a threshold (p99 target) failed, which the speed of this machine decides, not the wiring.
    child.once('exit', (code) => (code === 0 || code === 99 ? resolve(output) : reject(new Error(`embedbench load exited ${code}: ${output}`))));
  });
}

async function timedEmbed(url: string, texts: string[]): Promise<{ status: number; timing: ClientTiming }> {
  const startedAt = performance.now();
  const response = await fetch(`${url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) });
  await response.arrayBuffer();
  const header = (name: string) => Number(response.headers.get(name)) / 1000;
  return {
    status: response.status,
    timing: {
      roundTripSeconds: (performance.now() - startedAt) / 1000,
      headerSeconds: {
        queue: header('x-queue-time'),
        tokenization: header('x-tokenization-time'),
        inference: header('x-inference-time'),
        total: header('x-total-time'),
      },
    },
  };
}

/** What k6's experimental-prometheus-rw output would push for these requests, in three cumulative pushes. */
function k6Series(backend: BackendName, timings: ClientTiming[], rejected: number, endMs: number): Series[] {
  const pushes = [endMs - 2 * PUSH_SPACING_MS, endMs - PUSH_SPACING_MS, endMs];
  const upTo = (push: number) => Math.ceil((timings.length * (push + 1)) / pushes.length);
  const wide = { backend, batch_size: String(BATCH_SIZE), testid: TESTID };
  const request: Labels = { ...wide, endpoint: 'embed', method: 'POST', name: 'embed', scenario: 'default', expected_response: 'true', proto: 'HTTP/1.1', status: '200', url: 'embed' };
  const histogram = (name: string, seconds: (timing: ClientTiming) => number): Series => ({
    labels: { __name__: name, ...request },
    points: pushes.map((timestampMs, push) => ({ timestampMs, observations: timings.slice(0, upTo(push)).map(seconds) })),
  });
  const counter = (name: string, labels: Labels, value: (push: number) => number): Series => ({
    labels: { __name__: name, ...labels },
    points: pushes.map((timestampMs, push) => ({ timestampMs, value: value(push) })),
  });
  const rejectedSoFar = (push: number) => Math.ceil((rejected * (push + 1)) / pushes.length);
  return [
    histogram('k6_http_req_duration_seconds', (t) => t.roundTripSeconds),
    histogram('k6_server_queue_time_seconds', (t) => t.headerSeconds.queue),
    histogram('k6_server_tokenization_time_seconds', (t) => t.headerSeconds.tokenization),
    histogram('k6_server_inference_time_seconds', (t) => t.headerSeconds.inference),
    histogram('k6_server_total_time_seconds', (t) => t.headerSeconds.total),
    counter('k6_http_reqs_total', request, (push) => upTo(push) + rejectedSoFar(push)),
    counter('k6_embeddings_total', request, (push) => upTo(push) * BATCH_SIZE),
    counter('k6_errors_429_total', { ...request, status: '429', expected_response: 'false' }, rejectedSoFar),
    counter('k6_embed_failures_rate', { ...wide, endpoint: 'embed' }, (push) => rejectedSoFar(push) / (upTo(push) + rejectedSoFar(push))),
    counter('k6_vus', wide, () => 1),
  ];
}

/**
 * Bursts of concurrent requests past --max-queue, for the error and overload panels. Whether one
 * burst overlaps enough depends on this machine's speed, so it retries with the next burst.
 */
async function burstUntilRejected(url: string): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const burst = await Promise.all(Array.from({ length: 32 }, () => timedEmbed(url, passages(64))));
    const rejected = burst.filter(({ status }) => status === 429).length;
    if (rejected > 0) return rejected;
  }
  return 0;
}

function hasData(response: PromResponse): boolean {
  if (typeof response.data !== 'object' || Array.isArray(response.data)) return false;
  return response.data.result.some((series) => (series.values ?? []).some(([, value]) => !Number.isNaN(Number(value))));
}

describe('dashboards on a real Prometheus scraping the running services', { timeout: 240_000 }, () => {
  const services = new Map<BackendName, Running>();
  let prometheus: Running | undefined;
  let workDir: string;
  let loadEndedAt: number;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'embedbench-grafana-'));
    const started = await Promise.allSettled(BACKENDS.map((backend) => startService(backend, ['--max-queue', String(MAX_QUEUE)])));
    started.forEach((result, i) => result.status === 'fulfilled' && services.set(BACKENDS[i]!, result.value));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const target = (backend: BackendName) => new URL(services.get(backend)!.url).host;
    prometheus = await startPrometheus({
      'embed-transformers:8000': target('transformers'),
      'embed-onnx:8002': target('onnx'),
      // Nothing listens there: no GPU, no DCGM exporter on this machine.
      'dcgm-exporter:9400': `127.0.0.1:${await freePort()}`,
    });

    // Prometheus applies new targets only every few seconds; counters first seen after the load would show no increase.
    await waitFor('the first scrapes of both services', async () => {
      const response = await promApi(prometheus!, '/api/v1/query', { query: 'count(up{job="embedbench"} == 1)' });
      const result = typeof response.data === 'object' && !Array.isArray(response.data) ? response.data.result : [];
      return Number(result[0]?.value?.[1]) === BACKENDS.length ? true : undefined;
    });

    const dataset = join(workDir, 'passages.jsonl');
    await writeFile(dataset, passages(64).map((text, i) => JSON.stringify({ pid: String(i), text })).join('\n') + '\n');
    for (const line of await Promise.all(BACKENDS.map((backend) => runDriver(services.get(backend)!.url, backend, dataset, join(workDir, `${backend}.result.json`))))) {
      console.log(`embedbench load: ${line.trim().split('\n').at(-2)}`);
    }

    for (const backend of BACKENDS) {
      const url = services.get(backend)!.url;
      const timings: ClientTiming[] = [];
      for (let i = 0; i < 12; i += 1) {
        const { status, timing } = await timedEmbed(url, passages(BATCH_SIZE));
        assert.equal(status, 200);
        timings.push(timing);
      }
      const rejected = await burstUntilRejected(url);
      assert.ok(rejected > 0, `bursts of concurrent requests against --max-queue ${MAX_QUEUE} get some 429s (${backend})`);
      assert.equal((await fetch(`${url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"texts": []}' })).ok, false);
      await remoteWrite(`${prometheus.url}/api/v1/write`, k6Series(backend, timings, rejected, Date.now()));
    }
    loadEndedAt = Date.now();
    // Two more scrapes, so rates cover the end of the load.
    const scraped = await waitFor('scrapes after the load', async () => {
      const response = await promApi(prometheus!, '/api/v1/query', { query: 'count by (backend) (embedbench_http_requests_total{status="429"})' });
      return typeof response.data === 'object' && !Array.isArray(response.data) && response.data.result.length === BACKENDS.length ? true : undefined;
    });
    assert.ok(scraped);
    await new Promise((resolve) => setTimeout(resolve, 2500));
  });

  after(async () => {
    await prometheus?.stop();
    await Promise.all([...services.values()].map((service) => service.stop()));
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('Prometheus accepts every panel query, and every panel fed by the services or k6 returns data', async () => {
    const end = Date.now() / 1000;
    const start = loadEndedAt / 1000 - 60;
    let gpuPanels = 0;
    for (const [file, dashboard] of Object.entries(buildDashboards())) {
      for (const panel of dashboardPanels(dashboard)) {
        const responses = await Promise.all(
          panel.exprs.map((expr) =>
            promApi(prometheus!, '/api/v1/query_range', { query: substituteVariables(expr, RATE_INTERVAL), start: String(start), end: String(end), step: '1' }),
          ),
        );
        responses.forEach((response, i) =>
          assert.equal(response.status, 'success', `${file} "${panel.title}": ${panel.exprs[i]}: ${response.error ?? ''}`),
        );
        if (panel.source === 'dcgm') {
          gpuPanels += 1;
          continue;
        }
        responses.forEach((response, i) =>
          assert.ok(hasData(response), `${file} "${panel.title}" (${panel.source}) has no data for: ${panel.exprs[i]}\n${JSON.stringify(response.data).slice(0, 2000)}`),
        );
      }
    }
    assert.ok(gpuPanels > 0);
    console.log(`${gpuPanels} GPU (DCGM) panels: queries accepted; no data here, since this machine has no GPU and no dcgm-exporter`);
  });

  it('the variables find every backend and instance (the shipped relabelling keeps the services\' backend label) and the pushed testid', async () => {
    const labelValues = async (label: string, match: string) => {
      const response = await promApi(prometheus!, `/api/v1/label/${label}/values`, { 'match[]': match });
      assert.equal(response.status, 'success');
      return response.data as string[];
    };
    assert.deepEqual(await labelValues('backend', 'embedbench_http_requests_total'), [...BACKENDS].sort());
    assert.equal((await labelValues('instance', 'embedbench_http_requests_total')).length, BACKENDS.length);
    assert.deepEqual(await labelValues('testid', 'k6_http_reqs_total'), [TESTID]);
    assert.deepEqual(await labelValues('backend', 'nodejs_eventloop_lag_p99_seconds'), [...BACKENDS].sort(), 'default Node metrics carry backend too');
  });
});
