// Writes the dashboards' JSON under grafana/provisioning/dashboards (run: npm run -w @embedbench/grafana generate).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildDashboards } from './dashboards/index.js';

export const PROVISIONED_DIR = fileURLToPath(new URL('../../provisioning/dashboards/', import.meta.url));

export const renderDashboard = (dashboard: unknown): string => `${JSON.stringify(dashboard, null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, dashboard] of Object.entries(buildDashboards())) {
    writeFileSync(`${PROVISIONED_DIR}${file}`, renderDashboard(dashboard));
    console.log(`wrote grafana/provisioning/dashboards/${file}`);
  }
}
