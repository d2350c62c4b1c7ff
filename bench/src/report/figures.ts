import { parseLoadResult } from '../results/schema.js';

interface LatencyFigures {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
}

/** The figures a report shows for one run, taken from its stress_*.json load result. */
export interface RunFigures {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly embeddingsPerSecond: number;
  /** 0..1 */
  readonly successRate: number;
  /** null when no request succeeded. */
  readonly latencyMs: LatencyFigures | null;
}

export function figuresFromStress(raw: unknown, source: string): RunFigures {
  const result = parseLoadResult(raw, source);
  return {
    requests: result.requests.total,
    requestsPerSecond: result.throughput.requestsPerSecond,
    embeddingsPerSecond: result.throughput.embeddingsPerSecond,
    successRate: result.successRate,
    latencyMs: result.latencyMs,
  };
}
