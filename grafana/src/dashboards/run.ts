import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { backendVariable, dashboard, K6, nativeQuantiles, query, row, testidVariable, timeseries, UNITS } from '../common.js';

/** The k6 trends for the service's timing headers, in the order a request meets them. */
const SERVER_TRENDS = [
  ['k6_server_queue_time_seconds', 'queue'],
  ['k6_server_tokenization_time_seconds', 'tokenize'],
  ['k6_server_inference_time_seconds', 'inference'],
  ['k6_server_total_time_seconds', 'server total'],
] as const;

/** One or more k6 runs, picked by testid: what the client saw, and what the server's timing headers said. */
export function runDashboard(): DashboardBuilder {
  return dashboard('embedbench-run', 'EmbedBench / Per run (k6)', 'One k6 run (testid), from k6\'s remote-written metrics')
    .withVariable(testidVariable())
    .withVariable(backendVariable('k6_http_reqs_total{testid=~"$testid"}'))
    .withRow(row('Load'))
    .withPanel(
      timeseries(
        'Requests and embeddings per second',
        [
          query(`sum by (backend, batch_size) (rate(k6_http_reqs_total{${K6}}[$__rate_interval]))`, '{{backend}} b{{batch_size}} requests/s'),
          query(`sum by (backend, batch_size) (rate(k6_embeddings_total{${K6}}[$__rate_interval]))`, '{{backend}} b{{batch_size}} embeddings/s'),
        ],
        { unit: UNITS.perSecond },
      ),
    )
    .withPanel(
      timeseries('Virtual users', [query(`sum by (testid) (k6_vus{testid=~"$testid"})`, '{{testid}}')], { unit: UNITS.count }),
    )
    .withRow(row('Latency'))
    .withPanel(
      timeseries('Round trip p50 / p90 / p99', nativeQuantiles('k6_http_req_duration_seconds', K6), { unit: UNITS.seconds }),
    )
    .withPanel(
      timeseries(
        'Server timing headers p99',
        SERVER_TRENDS.map(([metric, phase]) =>
          query(`histogram_quantile(0.99, sum by (backend) (rate(${metric}{${K6}}[$__rate_interval])))`, `{{backend}} ${phase}`),
        ),
        { unit: UNITS.seconds, description: 'x-queue-time, x-tokenization-time, x-inference-time and x-total-time as k6 recorded them' },
      ),
    )
    .withPanel(
      timeseries(
        'Server timing headers (mean per request)',
        SERVER_TRENDS.slice(0, 3).map(([metric, phase]) =>
          query(`sum by (backend) (histogram_sum(rate(${metric}{${K6}}[$__rate_interval]))) / sum by (backend) (histogram_count(rate(${metric}{${K6}}[$__rate_interval])))`, `{{backend}} ${phase}`),
        ),
        { unit: UNITS.seconds, stacked: true },
      ),
    )
    .withPanel(
      timeseries(
        'Network and client overhead (mean)',
        [
          query(
            `sum by (backend) (histogram_sum(rate(k6_http_req_duration_seconds{${K6}}[$__rate_interval]))) / sum by (backend) (histogram_count(rate(k6_http_req_duration_seconds{${K6}}[$__rate_interval])))` +
              ` - sum by (backend) (histogram_sum(rate(k6_server_total_time_seconds{${K6}}[$__rate_interval]))) / sum by (backend) (histogram_count(rate(k6_server_total_time_seconds{${K6}}[$__rate_interval])))`,
            '{{backend}}',
          ),
        ],
        { unit: UNITS.seconds, description: 'Round trip minus x-total-time: connection, transfer, JSON on both ends' },
      ),
    )
    .withRow(row('Errors'))
    .withPanel(
      timeseries('Failed requests (share)', [query(`max by (backend) (k6_embed_failures_rate{${K6}})`, '{{backend}}')], {
        unit: UNITS.ratio,
        description: 'k6 Rate embed_failures: any status but 200, or a body that failed the checks',
      }),
    )
    .withPanel(
      timeseries('429 Overloaded per second', [query(`sum by (backend) (rate(k6_errors_429_total{${K6}}[$__rate_interval]))`, '{{backend}}')], {
        unit: UNITS.perSecond,
      }),
    );
}
