// Runs every compiled *.test.js under the workspaces with node's test runner, so the closing
// summary line is node:test's own. Extra arguments narrow the run to paths containing them.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['services/core', 'services/backends', 'services/http', 'loadtest', 'bench', 'grafana'];
const filters = process.argv.slice(2);

function collect(dir, out) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = roots
  .flatMap((root) => { try { return collect(join(root, 'dist'), []); } catch { return []; } })
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
