import { parseLoadResult } from '../load/result-schema.js';

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
  /** Mean server-side time per request (from the x-*-time headers); null where the service sent none. */
  readonly serverMeanMs: ServerTimeFigures;
}

export interface ServerTimeFigures {
  readonly queue: number | null;
  readonly tokenization: number | null;
  readonly inference: number | null;
}

export function figuresFromStress(raw: unknown, source: string): RunFigures {
  const result = parseLoadResult(raw, source);
  return {
    requests: result.requests.total,
    requestsPerSecond: result.throughput.requestsPerSecond,
    embeddingsPerSecond: result.throughput.embeddingsPerSecond,
    successRate: result.successRate,
    latencyMs: result.latencyMs,
    serverMeanMs: {
      queue: result.serverTimingMs.queue?.mean ?? null,
      tokenization: result.serverTimingMs.tokenization?.mean ?? null,
      inference: result.serverTimingMs.inference?.mean ?? null,
    },
  };
}
