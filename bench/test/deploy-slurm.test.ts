/**
 * The real sbatch scripts on the single-node Slurm cluster that scripts/setup-slurm.sh starts, in
 * native CPU mode with the tiny model and short runs. The resources the scripts ask for (1 GPU,
 * 8 CPUs, 32 GB) do not exist here, so each submission overrides them on the sbatch command line,
 * as a user would. The tree is already built by the test command, so the jobs skip set-up
 * (BENCH_SETUP=0): running npm ci from a test would replace node_modules under the test runner.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandExists, missingPrerequisite, mustRun, REPO_ROOT, runCommand, TINY_MODEL, waitFor } from './deploy-support.js';
import { resultsIndexSchema, type ResultsIndex } from '../src/result-files/schemas.js';

const SCRIPTS = ['submit.sbatch', 'array.sbatch', 'merge.sbatch', 'smoke.sbatch'];
/** What this 2-core node can give, instead of the scripts' GPU, 8 CPUs and 32 GB. */
const LOCAL_RESOURCES = ['--gres=none', '--mem=3G', '--cpus-per-task=1', '--time=00:10:00'];
const BATCH_SIZES = [2, 4];
const BACKENDS = ['transformers', 'onnx'];

async function slurmMissing(): Promise<string | undefined> {
  if (!(await commandExists('sbatch'))) return 'Slurm (sbatch) is not installed';
  const states = await runCommand('sinfo', ['-h', '-o', '%T']);
  if (states.code !== 0 || !/idle|mixed|allocated/.test(states.stdout)) return `no Slurm node is up (sinfo: ${states.stdout.trim() || states.stderr.trim()})`;
  if (!existsSync(TINY_MODEL)) return `the tiny test model is missing at ${TINY_MODEL}`;
  return undefined;
}

/** The job environment: short runs of the tiny model on synthetic passages made by the job itself. */
function jobEnv(workDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_REPO: REPO_ROOT,
    BENCH_SETUP: '0',
    BENCH_MODEL: TINY_MODEL,
    BENCH_DATA: join(workDir, 'data/passages.jsonl'),
    BENCH_DATA_SOURCE: 'synthetic',
    BENCH_NUM_SENTENCES: '200',
    BENCH_BACKENDS: BACKENDS.join(' '),
    BENCH_BATCH_SIZES: BATCH_SIZES.join(' '),
    BENCH_MAX_CONCURRENT_REQUESTS: '2',
    BENCH_COMPARE_ARGS: '--duration-seconds 3 --warmup 0 --repeats 1 --driver builtin',
    BENCH_STARTUP_TIMEOUT: '120',
  };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

async function readIndex(dir: string): Promise<ResultsIndex> {
  return resultsIndexSchema.parse(JSON.parse(await readFile(join(dir, 'results_index.json'), 'utf8')));
}

function assertAllCompleted(index: ResultsIndex, expected: number): void {
  const failed = index.runs.filter((run) => run.status !== 'completed').map((run) => `${run.backend} b${run.batchSize}: ${run.error}`);
  assert.deepEqual(failed, [], 'every run must complete');
  assert.equal(index.runs.length, expected);
}

async function withWorkDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-slurm-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('submit.sbatch asks for one job of 1 GPU, 8 CPUs, 32 GB, 4 h', async () => {
  const directives = (await readFile(join(REPO_ROOT, 'slurm/submit.sbatch'), 'utf8')).split('\n').filter((line) => line.startsWith('#SBATCH '));
  for (const expected of ['--gres=gpu:1', '--cpus-per-task=8', '--mem=32G', '--time=04:00:00']) {
    assert.ok(directives.includes(`#SBATCH ${expected}`), `submit.sbatch lacks #SBATCH ${expected}`);
  }
});

test('sbatch accepts every script with its resources overridden on the command line', async (t) => {
  if (missingPrerequisite(t, await slurmMissing())) return;
  await withWorkDir(async (dir) => {
    for (const script of SCRIPTS) {
      const arrayArgs = script === 'array.sbatch' ? ['--array=0-3'] : [];
      const result = await runCommand('sbatch', ['--test-only', ...LOCAL_RESOURCES, ...arrayArgs, join(REPO_ROOT, 'slurm', script)], { cwd: dir, env: jobEnv(dir) });
      assert.equal(result.code, 0, `sbatch --test-only ${script}: ${result.stderr}`);
      assert.match(result.stderr, /to start at/);
    }
    // The same submission without the overrides asks for a GPU this node does not have.
    const unchanged = await runCommand('sbatch', ['--test-only', join(REPO_ROOT, 'slurm/submit.sbatch')], { cwd: dir, env: jobEnv(dir) });
    assert.notEqual(unchanged.code, 0);
  });
});

test('smoke.sbatch serves each backend and embeds two passages inside a Slurm job', { timeout: 300_000 }, async (t) => {
  if (missingPrerequisite(t, await slurmMissing())) return;
  await withWorkDir(async (dir) => {
    const stdout = await mustRun('sbatch', ['--wait', '--parsable', ...LOCAL_RESOURCES, join(REPO_ROOT, 'slurm/smoke.sbatch')], { cwd: dir, env: jobEnv(dir), timeoutMs: 280_000 });
    const jobId = stdout.trim().split(';')[0]!;
    const output = await readFile(join(dir, `slurm_${jobId}.out`), 'utf8');
    assert.equal(output.match(/^smoke ok: 2 embeddings of dimension \d+/gm)?.length, BACKENDS.length, output);
  });
});

test('submit.sbatch runs embedbench compare natively and leaves results and report in the submit directory', { timeout: 420_000 }, async (t) => {
  if (missingPrerequisite(t, await slurmMissing())) return;
  await withWorkDir(async (dir) => {
    const result = await runCommand('sbatch', ['--wait', '--parsable', ...LOCAL_RESOURCES, join(REPO_ROOT, 'slurm/submit.sbatch')], { cwd: dir, env: jobEnv(dir), timeoutMs: 400_000 });
    const jobId = result.stdout.trim().split(';')[0]!;
    const log = async (name: string) => readFile(join(dir, name), 'utf8').catch(() => '(missing)');
    assert.equal(result.code, 0, `job ${jobId} failed:\n${await log(`slurm_${jobId}.out`)}\n${await log(`slurm_${jobId}.err`)}`);
    assert.match(await log(`slurm_${jobId}.out`), /runtime: local/);
    const resultsDir = join(dir, 'results', `slurm-${jobId}`);
    const index = await readIndex(resultsDir);
    assertAllCompleted(index, BACKENDS.length * BATCH_SIZES.length);
    for (const file of ['summary_report.txt', 'report.html']) assert.ok(existsSync(join(resultsDir, file)), `${file} missing`);
    assert.ok(existsSync(join(dir, 'data/passages.jsonl')), 'the job prepares the passages when they are missing');
  });
});

test('the job array runs each backend x batch size as its own job; an afterany job merges them and builds the report', { timeout: 600_000 }, async (t) => {
  if (missingPrerequisite(t, await slurmMissing())) return;
  await withWorkDir(async (dir) => {
    const resultsDir = join(dir, 'results');
    const env = { ...jobEnv(dir), BENCH_RESULTS_DIR: resultsDir };
    const submitted = await mustRun(join(REPO_ROOT, 'slurm/submit-array.sh'), LOCAL_RESOURCES, { cwd: dir, env, timeoutMs: 120_000 });
    const match = /array job (\d+) \((\d+) tasks\), merge job (\d+)/.exec(submitted);
    assert.ok(match, submitted);
    const [, arrayJob, taskCount, mergeJob] = match;
    assert.equal(Number(taskCount), BACKENDS.length * BATCH_SIZES.length);
    const dependency = await mustRun('squeue', ['-h', '-j', mergeJob!, '-o', '%E']);
    assert.ok(dependency.trim() === '' || dependency.includes(`afterany:${arrayJob}`), `merge job dependency: ${dependency}`);

    await waitFor(
      async () => ((await mustRun('squeue', ['-h', '-j', `${arrayJob},${mergeJob}`])).trim() === '' ? true : undefined),
      540_000,
      async () => `jobs still queued: ${await mustRun('squeue', ['-h'])}`,
    );
    const outputs = (await readdir(dir)).filter((name) => name.startsWith(`slurm_${arrayJob}_`) && name.endsWith('.out'));
    assert.equal(outputs.length, Number(taskCount), `one output per array task in the submit directory: ${outputs.join(', ')}`);
    const mergeLog = await readFile(join(dir, `slurm_${mergeJob}.out`), 'utf8').catch(() => '(missing)');
    assert.ok(existsSync(join(resultsDir, 'report.html')), `no report; merge job said:\n${mergeLog}\n${await readFile(join(dir, `slurm_${mergeJob}.err`), 'utf8').catch(() => '')}`);

    const tasks = (await readdir(join(resultsDir, 'tasks'))).sort();
    assert.deepEqual(tasks, ['000-transformers-b2', '001-transformers-b4', '002-onnx-b2', '003-onnx-b4']);
    for (const task of tasks) {
      const [, backend, batch] = /^\d+-(\w+)-b(\d+)$/.exec(task)!;
      const taskIndex = await readIndex(join(resultsDir, 'tasks', task));
      assert.deepEqual(taskIndex.runs.map((run) => [run.backend, run.batchSize]), [[backend, Number(batch)]]);
    }
    const merged = await readIndex(resultsDir);
    assertAllCompleted(merged, tasks.length);
    assert.deepEqual(merged.settings.variants.map((variant) => variant.label), BACKENDS);
    assert.deepEqual(merged.settings.batchSizes, BATCH_SIZES);
    for (const run of merged.runs) assert.ok(run.stressFile?.startsWith('tasks/') && existsSync(join(resultsDir, run.stressFile)), `${run.stressFile}`);
    const summary = await readFile(join(resultsDir, 'summary_report.txt'), 'utf8');
    for (const batch of BATCH_SIZES) assert.match(summary, new RegExp(`batch ${batch}:`));
  });
});
