import { METRIC_NAMES } from '@embedbench/loadtest/contract';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds, suited to 1 ms .. 30 s. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const BATCH_TOKEN_BUCKETS = [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** Every metric the service exports, in its own registry, all labelled with the backend name. */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: METRIC_NAMES.requestDuration,
    help: 'HTTP request duration, from first byte read to response',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDuration = this.durationHistogram(METRIC_NAMES.queueDuration, 'Time a request waited for its first batch');
  readonly tokenizationDuration = this.durationHistogram(
    METRIC_NAMES.tokenizationDuration,
    'Time spent tokenizing one request',
  );
  readonly inferenceDuration = this.durationHistogram(METRIC_NAMES.inferenceDuration, 'Backend time of one batch');
  readonly batchSize = new Histogram({
    name: METRIC_NAMES.batchSize,
    help: 'Rows per batch sent to the backend',
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly batchTokens = new Histogram({
    name: METRIC_NAMES.batchTokens,
    help: 'Padded tokens per batch sent to the backend (rows x longest row)',
    buckets: BATCH_TOKEN_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: METRIC_NAMES.queueDepth,
    help: 'Requests admitted and still waiting for a batch',
    registers: [this.registry],
  });
  readonly requestsInFlight = new Gauge({
    name: METRIC_NAMES.requestsInFlight,
    help: 'HTTP requests being served',
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: METRIC_NAMES.httpRequests,
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: METRIC_NAMES.errors,
    help: 'Errors answered, by error type',
    labelNames: ['error_type'] as const,
    registers: [this.registry],
  });
  readonly embeddings = new Counter({
    name: METRIC_NAMES.embeddings,
    help: 'Embeddings returned',
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: METRIC_NAMES.tokens,
    help: 'Input tokens embedded (after truncation, special tokens included)',
    registers: [this.registry],
  });

  constructor(backend: string) {
    this.registry.setDefaultLabels({ backend });
    collectDefaultMetrics({ register: this.registry });
  }

  private durationHistogram(name: string, help: string): Histogram {
    return new Histogram({ name, help, buckets: DURATION_BUCKETS, registers: [this.registry] });
  }
}
