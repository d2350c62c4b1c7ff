import { METRIC_NAMES } from '@embedbench/loadtest/contract';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  backendVariable,
  classicMean,
  classicQuantiles,
  dashboard,
  EMBED_ROUTES,
  instanceVariable,
  K6,
  nativeQuantiles,
  query,
  row,
  SERVICE,
  testidVariable,
  timeseries,
  UNITS,
} from '../common.js';

const PHASES = [
  [METRIC_NAMES.queueDuration, 'queue'],
  [METRIC_NAMES.tokenizationDuration, 'tokenize'],
  [METRIC_NAMES.inferenceDuration, 'inference'],
] as const;

/** Backends side by side: throughput, latency (service and k6), where the time goes, batching, errors, pressure. */
export function overviewDashboard(): DashboardBuilder {
  return dashboard('embedbench-overview', 'EmbedBench / Comparison overview', 'Every backend side by side, from the services\' /metrics and from k6')
    .withVariable(backendVariable(METRIC_NAMES.httpRequests))
    .withVariable(instanceVariable())
    .withVariable(testidVariable())
    .withRow(row('Throughput'))
    .withPanel(
      timeseries(
        'Embeddings per second',
        [query(`sum by (backend) (rate(${METRIC_NAMES.embeddings}{${SERVICE}}[$__rate_interval]))`, '{{backend}}')],
        { unit: UNITS.perSecond, description: 'Texts embedded per second, as the service counts them' },
      ),
    )
    .withPanel(
      timeseries(
        'Requests per second',
        [query(`sum by (backend) (rate(${METRIC_NAMES.httpRequests}{${EMBED_ROUTES}}[$__rate_interval]))`, '{{backend}}')],
        { unit: UNITS.requestsPerSecond, description: 'Embedding requests answered per second, any status' },
      ),
    )
    .withRow(row('Latency'))
    .withPanel(
      timeseries('Service latency p50 / p90 / p99', classicQuantiles(METRIC_NAMES.requestDuration, EMBED_ROUTES), {
        unit: UNITS.seconds,
        description: `Time inside the service, from ${METRIC_NAMES.requestDuration}`,
      }),
    )
    .withPanel(
      timeseries('Client latency p50 / p90 / p99 (k6)', nativeQuantiles('k6_http_req_duration_seconds', K6), {
        unit: UNITS.seconds,
        description: 'Round trip seen by k6 (native histogram k6_http_req_duration_seconds), filtered by testid',
      }),
    )
    .withPanel(
      timeseries(
        'Where the time goes (mean per request)',
        PHASES.map(([metric, phase]) => classicMean(metric, SERVICE, `{{backend}} ${phase}`)),
        { unit: UNITS.seconds, stacked: true, description: 'Queue wait, tokenization and inference, averaged over requests' },
      ),
    )
    .withPanel(
      timeseries(
        'Inference p50 / p90 / p99',
        classicQuantiles(METRIC_NAMES.inferenceDuration, SERVICE),
        { unit: UNITS.seconds, description: 'Model run per batch' },
      ),
    )
    .withRow(row('Batching'))
    .withPanel(
      timeseries(
        'Batch size',
        [
          classicMean(METRIC_NAMES.batchSize, SERVICE, '{{backend}} mean'),
          ...classicQuantiles(METRIC_NAMES.batchSize, SERVICE).slice(1),
        ],
        { unit: UNITS.count, description: 'Texts per model run, after the queue merged requests' },
      ),
    )
    .withPanel(
      timeseries(
        'Tokens',
        [
          classicMean(METRIC_NAMES.batchTokens, SERVICE, '{{backend}} tokens per batch'),
          query(`sum by (backend) (rate(${METRIC_NAMES.tokens}{${SERVICE}}[$__rate_interval]))`, '{{backend}} tokens/s'),
        ],
        { unit: UNITS.count },
      ),
    )
    .withPanel(
      timeseries('Queue depth', [query(`sum by (backend) (${METRIC_NAMES.queueDepth}{${SERVICE}})`, '{{backend}}')], {
        unit: UNITS.count,
        description: 'Texts waiting for a model run',
      }),
    )
    .withPanel(
      timeseries(
        'Event loop lag p99',
        [query(`max by (backend) (nodejs_eventloop_lag_p99_seconds{${SERVICE}})`, '{{backend}}')],
        { unit: UNITS.seconds, description: 'A blocked event loop delays every request, whatever the backend' },
      ),
    )
    .withRow(row('Errors and pressure'))
    .withPanel(
      timeseries(
        'Errors per second by type',
        [query(`sum by (backend, error_type) (rate(${METRIC_NAMES.errors}{${SERVICE}}[$__rate_interval]))`, '{{backend}} {{error_type}}')],
        { unit: UNITS.perSecond, stacked: true },
      ),
    )
    .withPanel(
      timeseries(
        'Error ratio',
        [
          query(
            `sum by (backend) (rate(${METRIC_NAMES.httpRequests}{${EMBED_ROUTES}, status!~"2.."}[$__rate_interval])) / sum by (backend) (rate(${METRIC_NAMES.httpRequests}{${EMBED_ROUTES}}[$__rate_interval]))`,
            '{{backend}}',
          ),
        ],
        { unit: UNITS.ratio, description: 'Share of embedding requests not answered 2xx' },
      ),
    )
    .withPanel(
      timeseries('Requests in flight', [query(`sum by (backend) (${METRIC_NAMES.requestsInFlight}{${SERVICE}})`, '{{backend}}')], {
        unit: UNITS.count,
      }),
    )
    .withPanel(
      timeseries(
        '429 Overloaded per second',
        [query(`sum by (backend) (rate(${METRIC_NAMES.httpRequests}{${EMBED_ROUTES}, status="429"}[$__rate_interval]))`, '{{backend}}')],
        { unit: UNITS.requestsPerSecond, description: 'Requests turned away because the queue was full (--max-queue)' },
      ),
    );
}
