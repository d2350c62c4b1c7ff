/** Shared by the deployment tests (deploy-*.test.ts): paths, commands, and the CI rule for missing tools. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TINY_MODEL = join(REPO_ROOT, '.cache/test-models/modernbert-tiny');
export const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (never through a shell); a non-zero exit is returned, not thrown. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const killed = error && 'killed' in error && error.killed ? `\n(killed after ${options.timeoutMs ?? 60_000} ms)` : '';
        done({ code, stdout, stderr: stderr + killed });
      },
    );
  });
}

/** Like runCommand, but a non-zero exit fails the test with the command's output. */
export async function mustRun(command: string, args: readonly string[], options: Parameters<typeof runCommand>[2] = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  assert.equal(result.code, 0, `${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

export async function commandExists(command: string): Promise<boolean> {
  return (await runCommand('sh', ['-c', `command -v ${command}`])).code === 0;
}

/**
 * A missing tool (podman, Slurm, docker-compose) fails the test in CI, where .ci/run installs it
 * through scripts/setup-*.sh, and is a visible skip on a developer machine that has not run those.
 * Returns true when the caller must stop.
 */
export function missingPrerequisite(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${reason} (CI installs it with scripts/setup-*.sh; this must not happen there)`);
  t.skip(`${reason}; run scripts/setup-podman.sh and scripts/setup-slurm.sh`);
  return true;
}

/** Polls until check() returns a value, or fails after timeoutMs with describe()'s text. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, describe: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 500));
  }
}

/**
 * Runs a detached podman container on the host network (its server on 127.0.0.1:port), waits for
 * /health/ready, hands the base URL to body, and removes the container whatever happens.
 */
export async function withServingContainer(
  name: string,
  port: number,
  runArgs: readonly string[],
  body: (baseUrl: string, logs: () => Promise<string>) => Promise<void>,
): Promise<void> {
  const logs = async () => {
    const result = await runCommand('podman', ['logs', '--tail', '40', name]);
    return result.stdout + result.stderr;
  };
  await mustRun('podman', ['run', '--detach', '--name', name, '--network', 'host', ...runArgs]);
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => ((await fetch(`${baseUrl}/health/ready`).then((r) => r.ok, () => false)) ? true : undefined),
      120_000,
      async () => `container ${name} never became ready:\n${await logs()}`,
    );
    await body(baseUrl, logs);
  } finally {
    await runCommand('podman', ['rm', '--force', '--time', '5', name]);
  }
}
