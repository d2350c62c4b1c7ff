import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildWithPanelIds } from '../common.js';
import { gpuDashboard } from './gpu.js';
import { overviewDashboard } from './overview.js';
import { runDashboard } from './run.js';

/** Every dashboard, keyed by the file name its JSON is provisioned under. */
export function buildDashboards(): Record<string, Dashboard> {
  return {
    'embedbench-overview.json': buildWithPanelIds(overviewDashboard()),
    'embedbench-gpu.json': buildWithPanelIds(gpuDashboard()),
    'embedbench-run.json': buildWithPanelIds(runDashboard()),
  };
}
