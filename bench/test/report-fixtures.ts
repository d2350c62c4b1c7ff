/** Result files as `embedbench compare` writes them, for the report tests. */
import { latencyStats } from '@embedbench/loadtest/percentiles';
import { LatencyRecorder } from '../src/load/histogram.js';
import { loadResultSchema, type LoadResult } from '../src/result-files/schemas.js';

/** A load result as the drivers write it (validated by the real schema below), its latencies from `samples`. */
export function loadResult(backend: string, batchSize: number, requestsPerSecond: number, samples: readonly number[], successRate = 1, p99TargetMs = 100_000): LoadResult {
  const total = Math.round(requestsPerSecond * 10);
  const succeeded = Math.round(total * successRate);
  const timing = { mean: 5, p50: 4, p99: 12 };
  const recorder = new LatencyRecorder();
  for (const sample of samples) recorder.record(sample);
  const latencyMs = latencyStats(recorder);
  return loadResultSchema.parse({
    schemaVersion: 1,
    testid: `${backend}-b${batchSize}`,
    driver: 'builtin',
    backend,
    model: 'answerdotai/ModernBERT-base',
    embeddingDim: 3,
    baseUrl: 'http://127.0.0.1:8000',
    scenario: 'closed',
    batchSize,
    load: { vus: 4, rate: null, maxVus: null },
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:00:10.000Z',
    durationSeconds: 10,
    requests: { total, succeeded, failed: total - succeeded, dropped: 0 },
    embeddings: succeeded * batchSize,
    successRate,
    errorsByStatus: total > succeeded ? { '503': total - succeeded } : {},
    throughput: { requestsPerSecond, embeddingsPerSecond: (succeeded * batchSize) / 10, tokensPerSecond: null },
    latencyMs,
    serverTimingMs: { queue: timing, tokenization: timing, inference: timing, total: timing },
    serverMetrics: { requests: total, tokens: null },
    thresholds: { p99TargetMs, maxErrorRate: 0.01, passed: successRate >= 0.99 && latencyMs!.p99 <= p99TargetMs },
    saturation: null,
    environment: { hostname: 'h', os: 'Linux', cpuModel: 'cpu', cpuCount: 2, memoryBytes: 1024, gpus: ['NVIDIA L40S'], runtime: 'node v20', embedbenchVersion: '0.1.0', gitSha: null },
  });
}

