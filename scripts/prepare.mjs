// `npm ci` and `npm install` run this (the root `prepare`): the build, where the build tools are
// installed. A production install (`npm ci --omit=dev`) has none of them; it serves the dist/
// folders built before, so it skips the build instead of failing on a missing tsc.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript');
} catch {
  console.log('prepare: no build tools installed (production install); using the dist/ folders as built');
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
