import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { gpuDashboard } from './gpu.js';
import { overviewDashboard } from './overview.js';
import { runDashboard } from './run.js';

/** Every dashboard, keyed by the file name its JSON is provisioned under. */
export function buildDashboards(): Record<string, Dashboard> {
  return {
    'embedbench-overview.json': overviewDashboard().build(),
    'embedbench-gpu.json': gpuDashboard().build(),
    'embedbench-run.json': runDashboard().build(),
  };
}
