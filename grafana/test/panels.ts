import type { Dashboard, DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

export interface PanelQueries {
  readonly title: string;
  readonly datasource: DataSourceRef | undefined;
  readonly exprs: string[];
  /** Which exporter feeds the panel, read from the metric names its queries use. */
  readonly source: 'service' | 'k6' | 'dcgm';
}

export function dashboardPanels(dashboard: Dashboard): PanelQueries[] {
  return (dashboard.panels ?? [])
    .filter((panel) => panel.type !== 'row')
    .map((panel) => {
      const exprs = ('targets' in panel ? (panel.targets ?? []) : []).map((target) => String((target as { expr?: unknown }).expr ?? ''));
      const all = exprs.join('\n');
      const source = all.includes('DCGM_') ? 'dcgm' : all.includes('k6_') ? 'k6' : 'service';
      return { title: String(panel.title ?? ''), datasource: 'datasource' in panel ? panel.datasource : undefined, exprs, source };
    });
}

/** Grafana's template variables, as the dashboards' "All" selection expands them. */
export function substituteVariables(expr: string, rateInterval: string): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replace(/\$(backend|instance|testid|gpu)\b/g, '.*');
}
