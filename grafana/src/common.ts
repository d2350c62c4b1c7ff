// House style for every EmbedBench dashboard: one datasource, one query helper, panel defaults, units
// and the template variables. Dashboards only say what to plot.
import { METRIC_NAMES } from '@embedbench/loadtest/contract';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The provisioned datasource (grafana/provisioning/datasources/prometheus.yaml) has this uid. */
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/** Label matchers for the service's own series, narrowed by the dashboard variables. */
export const SERVICE = 'backend=~"$backend", instance=~"$instance"';
/** Only the embedding routes: health checks and scrapes stay out of request rates and latency. */
export const EMBED_ROUTES = `${SERVICE}, route=~"/embed|/v1/embeddings"`;
/** Label matchers for k6's remote-written series (k6 tags backend, batch_size, testid; endpoint="embed"). */
export const K6 = 'backend=~"$backend", testid=~"$testid", endpoint="embed"';

export const QUANTILES = [0.5, 0.9, 0.99] as const;
const PANEL_HEIGHT = 8;
const HALF_WIDTH = 12;

export interface Query {
  readonly expr: string;
  readonly legend: string;
}

export const query = (expr: string, legend: string): Query => ({ expr, legend });

/** p50/p90/p99 of a classic histogram (`<name>_bucket` with `le`), per backend. */
export function classicQuantiles(metric: string, matchers: string): Query[] {
  return QUANTILES.map((q) =>
    query(
      `histogram_quantile(${q}, sum by (backend, le) (rate(${metric}_bucket{${matchers}}[$__rate_interval])))`,
      `{{backend}} p${q * 100}`,
    ),
  );
}

/** p50/p90/p99 of a native histogram (as k6 writes trends with K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM), per backend and batch size. */
export function nativeQuantiles(metric: string, matchers: string): Query[] {
  return QUANTILES.map((q) =>
    query(
      `histogram_quantile(${q}, sum by (backend, batch_size) (rate(${metric}{${matchers}}[$__rate_interval])))`,
      `{{backend}} b{{batch_size}} p${q * 100}`,
    ),
  );
}

/** Mean of a classic histogram per backend: rate of the sum over rate of the count. */
export function classicMean(metric: string, matchers: string, legend: string): Query {
  return query(
    `sum by (backend) (rate(${metric}_sum{${matchers}}[$__rate_interval])) / sum by (backend) (rate(${metric}_count{${matchers}}[$__rate_interval]))`,
    legend,
  );
}

export interface PanelOptions {
  readonly unit: string;
  readonly description?: string;
  readonly stacked?: boolean;
  readonly bars?: boolean;
  readonly width?: number;
}

export function timeseries(title: string, queries: readonly Query[], options: PanelOptions): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(title)
    .datasource(PROMETHEUS)
    .unit(options.unit)
    .min(0)
    .height(PANEL_HEIGHT)
    .span(options.width ?? HALF_WIDTH)
    .lineWidth(1)
    .fillOpacity(options.stacked || options.bars ? 60 : 10)
    .drawStyle(options.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .showPoints(common.VisibilityMode.Never)
    .stacking(new common.StackingConfigBuilder().mode(options.stacked ? common.StackingMode.Normal : common.StackingMode.None))
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['mean', 'max', 'lastNotNull']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (options.description !== undefined) panel.description(options.description);
  for (const { expr, legend } of queries) panel.withTarget(target(expr, legend));
  return panel;
}

function target(expr: string, legend: string): cog.Builder<cog.Dataquery> {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).range().datasource(PROMETHEUS);
}

export const row = (title: string): RowBuilder => new RowBuilder(title);

/** A multi-value variable over one label, "All" matching every value (allValue `.*`, so regex matchers apply). */
export function labelVariable(name: string, label: string, source: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query({ query: `label_values(${source}, ${name})`, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export const backendVariable = (source: string): QueryVariableBuilder => labelVariable('backend', 'Backend', source);
export const instanceVariable = (): QueryVariableBuilder =>
  labelVariable('instance', 'Instance', `${METRIC_NAMES.httpRequests}{backend=~"$backend"}`);
export const testidVariable = (): QueryVariableBuilder =>
  labelVariable('testid', 'Test run (testid)', 'k6_http_reqs_total{backend=~"$backend"}');

export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['embedbench', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser');
}

/** Builds the dashboard with every panel and row numbered (Grafana links and edits panels by id). */
export function buildWithPanelIds(builder: DashboardBuilder): Dashboard {
  const built = builder.build();
  built.panels?.forEach((panel, index) => (panel.id = index + 1));
  return built;
}

/** Units Grafana knows by these ids. */
export const UNITS = {
  seconds: 's',
  perSecond: 'ops',
  requestsPerSecond: 'reqps',
  count: 'short',
  percent: 'percent',
  ratio: 'percentunit',
  bytes: 'bytes',
  decMegabytes: 'decmbytes',
  watts: 'watt',
  megahertz: 'rotmhz',
} as const;
