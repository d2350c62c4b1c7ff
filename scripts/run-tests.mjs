// Runs every compiled *.test.js under the workspaces with node's test runner, so the closing
// summary line is node:test's own. Extra arguments narrow the run to paths containing them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['services/core', 'services/backends', 'services/http', 'loadtest', 'bench', 'grafana'];
const filters = process.argv.slice(2);

function collect(dir, suffix, out) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, suffix, out);
    else if (entry.endsWith(suffix)) out.push(path);
  }
  return out;
}

const files = roots
  .flatMap((root) => { try { return collect(join(root, 'dist'), '.test.js', []); } catch { return []; } })
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}
// Tests load tiny synthetic models from here. They are (re)made when missing or when the compiled
// code that writes them changed (a hash stored beside each folder), each into a temp folder renamed
// into place, so an interrupted run never leaves a half-written model that later runs would trust.
const synthSourceHash = createHash('sha256');
for (const file of ['bench/dist/src/model', 'bench/dist/src/text'].flatMap((dir) => collect(dir, '.js', [])).sort()) {
  synthSourceHash.update(file).update(readFileSync(file));
}
const synthVersion = synthSourceHash.digest('hex');
for (const arch of ['modernbert', 'bert']) {
  const modelDir = join('.cache', 'test-models', `${arch}-tiny`);
  const stampFile = `${modelDir}.source-hash`;
  if (existsSync(modelDir) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === synthVersion) continue;
  const tempDir = `${modelDir}.partial-${process.pid}`;
  rmSync(tempDir, { recursive: true, force: true });
  const synth = spawnSync(
    process.execPath,
    ['bench/dist/src/cli.js', 'model', 'synth', '--arch', arch, '--size', 'tiny', '--seed', '42', '--out', tempDir],
    { stdio: 'inherit' },
  );
  if (synth.status !== 0) {
    rmSync(tempDir, { recursive: true, force: true });
    console.error(`run-tests: could not synthesize the ${arch}-tiny test model`);
    process.exit(1);
  }
  rmSync(modelDir, { recursive: true, force: true });
  renameSync(tempDir, modelDir);
  writeFileSync(stampFile, synthVersion);
}

const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
