import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildDashboards } from '../src/dashboards/index.js';
import { PROVISIONED_DIR, renderDashboard } from '../src/generate.js';
import { dashboardPanels } from './panels.js';

describe('generated dashboards', () => {
  const dashboards = buildDashboards();

  it('the committed JSON under grafana/provisioning/dashboards is what the TypeScript generates', () => {
    const committed = readdirSync(PROVISIONED_DIR).filter((file) => file.endsWith('.json')).sort();
    assert.deepEqual(committed, Object.keys(dashboards).sort(), 'one JSON file per dashboard, none stale');
    for (const [file, dashboard] of Object.entries(dashboards)) {
      assert.equal(
        readFileSync(`${PROVISIONED_DIR}${file}`, 'utf8'),
        renderDashboard(dashboard),
        `${file} is out of date: run npm run -w @embedbench/grafana generate`,
      );
    }
  });

  it('have distinct uids, the backend, instance and testid variables, and queries on the provisioned datasource', () => {
    const uids = Object.values(dashboards).map((dashboard) => dashboard.uid);
    assert.equal(new Set(uids).size, uids.length);
    const variables = (file: string) => (dashboards[file]?.templating?.list ?? []).map((variable) => variable.name);
    assert.deepEqual(variables('embedbench-overview.json'), ['backend', 'instance', 'testid']);
    assert.deepEqual(variables('embedbench-run.json'), ['testid', 'backend']);
    assert.deepEqual(variables('embedbench-gpu.json'), ['backend', 'instance', 'gpu']);
    for (const [file, dashboard] of Object.entries(dashboards)) {
      const ids = (dashboard.panels ?? []).map((panel) => panel.id);
      assert.deepEqual(ids, ids.map((_, index) => index + 1), `${file}: panels numbered 1..n`);
      const panels = dashboardPanels(dashboard);
      assert.ok(panels.length >= 6, `${file} has panels`);
      for (const panel of panels) {
        assert.ok(panel.exprs.length > 0, `${file}: "${panel.title}" has queries`);
        assert.deepEqual(panel.datasource, { type: 'prometheus', uid: 'prometheus' }, `${file}: "${panel.title}"`);
      }
    }
  });

  it('the overview covers what the issue lists', () => {
    const titles = dashboardPanels(dashboards['embedbench-overview.json']!).map((panel) => panel.title);
    for (const wanted of [/Embeddings per second/, /Requests per second/, /Service latency/, /k6/, /Where the time goes/, /Batch size/, /Tokens/, /Errors per second by type/, /in flight/, /429/]) {
      assert.ok(titles.some((title) => wanted.test(title)), `a panel matching ${wanted}`);
    }
  });
});
