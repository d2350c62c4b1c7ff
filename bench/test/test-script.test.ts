import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let scratch: string;
let checkout: string;
let fakeBin: string;
let pidDir: string;
const preexisting: number[] = [];

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function script(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
  await chmod(path, 0o755);
}

/** Starts a detached process that outlives its parent, as a daemon does, with `env` as its whole environment. */
function detached(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const child = spawn(command, args, { detached: true, stdio: 'ignore', env });
  child.unref();
  return child.pid!;
}

// A copy of scripts/test.sh and scripts/lib/apt.sh in a scratch checkout whose setup scripts and
// `npm` only start daemon-like processes: munged (a copy of sleep under that name), one started
// without the run's variable as sudo would, and a failing `npm test` that leaves a process behind.
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'embedbench-test-sh-'));
  checkout = join(scratch, 'checkout');
  fakeBin = join(scratch, 'bin');
  pidDir = join(scratch, 'pids');
  await mkdir(join(checkout, 'scripts', 'lib'), { recursive: true });
  await mkdir(fakeBin);
  await mkdir(pidDir);
  await copyFile(join(REPO_ROOT, 'scripts/test.sh'), join(checkout, 'scripts/test.sh'));
  await copyFile(join(REPO_ROOT, 'scripts/lib/apt.sh'), join(checkout, 'scripts/lib/apt.sh'));
  await copyFile('/bin/sleep', join(fakeBin, 'munged'));
  const background = (name: string, command: string) => `setsid ${command} >/dev/null 2>&1 </dev/null & echo $! > "$PID_DIR/${name}"`;
  await script(join(checkout, 'scripts/setup-prometheus.sh'), background('prometheus', 'sleep 600'));
  await script(join(checkout, 'scripts/setup-chromium.sh'), 'true');
  await script(join(checkout, 'scripts/setup-lavapipe.sh'), 'true');
  await script(join(checkout, 'scripts/setup-slurm.sh'), background('munged', 'env -u EMBEDBENCH_TEST_RUN "$FAKE_BIN/munged" 600'));
  await script(join(checkout, 'scripts/setup-images.sh'), 'true');
  await script(join(fakeBin, 'npm'), `case "$1" in ci) ;; test) ${background('test-leftover', 'sleep 600')}; echo "1 test failed"; exit 1 ;; esac`);
  // Running before the run: neither may be stopped.
  const plainEnv = { PATH: process.env.PATH };
  preexisting.push(detached(join(fakeBin, 'munged'), ['600'], plainEnv), detached('sleep', ['600'], plainEnv));
});

after(async () => {
  for (const pid of preexisting) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  await rm(scratch, { recursive: true, force: true });
});

test('scripts/test.sh says what it installs first, and stops what it started when a test fails', async () => {
  const run = spawnSync('bash', [join(checkout, 'scripts/test.sh')], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, PID_DIR: pidDir, FAKE_BIN: fakeBin },
    timeout: 120_000,
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const notice = run.stdout.slice(0, run.stdout.indexOf('== scripts/setup-prometheus.sh'));
  for (const part of ['Debian packages:', 'images:', 'daemons:', 'about 21 minutes the first time']) assert.ok(notice.includes(part), notice);

  const started = await Promise.all(['prometheus', 'munged', 'test-leftover'].map(async (name) => Number(await readFile(join(pidDir, name), 'utf8'))));
  assert.match(run.stdout, /== stopping what this run started and left running: .*munged.*sleep x2/);
  assert.match(run.stdout, /== scripts\/test\.sh FAILED \(exit 1\) in \d+m\d+s\n$/);
  for (const pid of started) assert.equal(isRunning(pid), false, `process ${pid} from this run still runs`);
  for (const pid of preexisting) assert.equal(isRunning(pid), true, `process ${pid} that ran before was stopped`);
});
