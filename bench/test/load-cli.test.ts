import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { THRESHOLDS_FAILED_EXIT_CODE } from '../src/commands/load.js';
import { progressPrinter } from '../src/load/progress.js';
import { parseLoadResult } from '../src/load/result-schema.js';
import { PASSAGES, startFixture } from './load-fixture.js';
import type { Fixture } from './load-fixture.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
let directory = '';
let dataset = '';

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'embedbench-load-cli-'));
  dataset = join(directory, 'passages.jsonl');
  await writeFile(dataset, PASSAGES.map((passage) => JSON.stringify(passage)).join('\n'));
});

after(() => rm(directory, { recursive: true, force: true }));

/** `interruptWhen` is polled; once true the child gets SIGINT (as Ctrl-C sends). */
function runCli(args: string[], interruptWhen?: () => boolean, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'load', ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const poll =
    interruptWhen &&
    setInterval(() => {
      if (!interruptWhen()) return;
      child.kill('SIGINT');
      clearInterval(poll);
    }, 50);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      if (poll) clearInterval(poll);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function withFixture(run: (fixture: Fixture) => Promise<void>, options: Parameters<typeof startFixture>[0] = {}): Promise<void> {
  const fixture = await startFixture(options);
  try {
    await run(fixture);
  } finally {
    await fixture.close();
  }
}

test('embedbench load writes a schema-valid result and prints one summary line', () =>
  withFixture(async (fixture) => {
    const out = join(directory, 'closed.json');
    const { code, stdout, stderr } = await runCli(['--base-url', fixture.url, '--backend', 'fixture', '--dataset', dataset, '--max-requests', '12', '--vus', '2', '--out', out]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^fixture batch=32 closed: 12 requests in .* req\/s, .* emb\/s, .* tokens\/s, p50 .* ms, p99 .* ms, success 100\.00%, thresholds passed\nresult: /);
    assert.match(stderr, /^load \d+s elapsed, \d+s left \| .* req\/s \| p99 .* ms \| 12 requests, 0 errors, 0 in flight$/m, 'plain progress lines off a terminal');
    const result = parseLoadResult(JSON.parse(await readFile(out, 'utf8')), out);
    assert.equal(result.requests.total, 12);
    assert.equal(fixture.embedRequests(), 12);
  }));

test('embedbench load exits 99 when a threshold fails, as k6 does', () =>
  withFixture(
    async (fixture) => {
      const out = join(directory, 'failing.json');
      const { code, stdout } = await runCli(['--base-url', fixture.url, '--dataset', dataset, '--max-requests', '8', '--vus', '1', '--out', out]);
      assert.equal(code, THRESHOLDS_FAILED_EXIT_CODE);
      assert.match(stdout, /, thresholds FAILED: error rate 50\.00% > 1\.00% limit \(4 of 8 requests failed\)\n/);
      assert.deepEqual(parseLoadResult(JSON.parse(await readFile(out, 'utf8')), out).errorsByStatus, { '503': 4 });
    },
    { failEvery: { n: 2, status: 503 } },
  ));

test('the p99 threshold names the measured p99 and by how much it missed the target', () =>
  withFixture(
    async (fixture) => {
      const out = join(directory, 'slow.json');
      const { code, stdout } = await runCli(['--base-url', fixture.url, '--dataset', dataset, '--max-requests', '4', '--vus', '1', '--p99-target-ms', '1', '--out', out]);
      assert.equal(code, THRESHOLDS_FAILED_EXIT_CODE);
      const p99 = parseLoadResult(JSON.parse(await readFile(out, 'utf8')), out).latencyMs!.p99;
      assert.ok(p99 > 1);
      assert.ok(
        stdout.includes(`thresholds FAILED: p99 ${p99.toFixed(1)} ms > 1 ms target (+${(p99 - 1).toFixed(1)} ms)\n`),
        stdout,
      );
    },
    { serviceMs: 20 },
  ));

test('without --out the result goes to load-results/, apart from compare results, and the path is printed', () =>
  withFixture(async (fixture) => {
    const cwd = join(directory, 'default-out');
    await mkdir(cwd, { recursive: true });
    const { code, stdout, stderr } = await runCli(['--base-url', fixture.url, '--backend', 'fixture', '--batch-size', '4', '--dataset', dataset, '--max-requests', '3', '--vus', '1'], undefined, cwd);
    assert.equal(code, 0, stderr);
    const files = await readdir(join(cwd, 'load-results'));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^load_fixture_batch4_\d{8}_\d{6}\.json$/);
    assert.ok(stdout.endsWith(`result: ${join('load-results', files[0]!)}\n`), stdout);
    assert.equal(parseLoadResult(JSON.parse(await readFile(join(cwd, 'load-results', files[0]!), 'utf8')), files[0]!).requests.total, 3);
    assert.deepEqual(await readdir(cwd), ['load-results']);
  }));

test('an existing --out is refused before any request, and replaced with --force', () =>
  withFixture(async (fixture) => {
    const out = join(directory, 'existing.json');
    await writeFile(out, 'an earlier result\n');
    const args = ['--base-url', fixture.url, '--dataset', dataset, '--max-requests', '2', '--vus', '1', '--out', out];
    const refused = await runCli(args);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `embedbench: ${out} already exists (a 18-byte file); pass --force to overwrite it\n`);
    assert.equal(fixture.embedRequests(), 0);
    assert.equal(await readFile(out, 'utf8'), 'an earlier result\n');
    const forced = await runCli([...args, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(parseLoadResult(JSON.parse(await readFile(out, 'utf8')), out).requests.total, 2);
  }));

test('Ctrl-C stops the run and the result is still written', () =>
  withFixture(
    async (fixture) => {
      const out = join(directory, 'interrupted.json');
      const started = performance.now();
      const { code, stderr } = await runCli(['--base-url', fixture.url, '--dataset', dataset, '--duration', '5m', '--vus', '2', '--out', out], () => fixture.embedRequests() >= 20);
      assert.equal(code, 0, stderr);
      assert.ok(performance.now() - started < 60_000);
      const result = parseLoadResult(JSON.parse(await readFile(out, 'utf8')), out);
      assert.ok(result.requests.total > 0);
      assert.ok(result.durationSeconds < 60);
    },
    { serviceMs: 5 },
  ));

test('bad options and a missing dataset give one clear line and a non-zero exit', async () => {
  const badScenario = await runCli(['--scenario', 'spike', '--dataset', dataset]);
  assert.equal(badScenario.code, 1);
  assert.equal(badScenario.stderr, 'embedbench: SCENARIO must be one of closed|open|saturation, got "spike"\n');
  const missing = await runCli(['--dataset', join(directory, 'nope.jsonl')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^embedbench: cannot read dataset .*nope\.jsonl/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
});

test('on a terminal the progress line rewrites itself and ends with a newline', () => {
  const written: string[] = [];
  const terminal = { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  const printer = progressPrinter(terminal);
  const progress = { phase: 'measure', elapsedSeconds: 3.2, remainingSeconds: 6.8, requests: 40, errors: 1, inFlight: 2, requestsPerSecond: 12.5, p99Ms: 80.25 } as const;
  printer.print(progress);
  printer.print({ ...progress, p99Ms: null });
  printer.finish();
  assert.deepEqual(written, [
    '\r\x1b[2Kload 3s elapsed, 7s left | 12.5 req/s | p99 80.3 ms | 40 requests, 1 errors, 2 in flight',
    '\r\x1b[2Kload 3s elapsed, 7s left | 12.5 req/s | p99 - | 40 requests, 1 errors, 2 in flight',
    '\n',
  ]);
});
