import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendStartError, type BackendExit, type BackendLaunch, type RunningBackend, type Runtime } from './types.js';
import { findFreePort, readLogTail, serveOptionsFor, waitUntilHealthy } from './support.js';

/** bench/dist/src/compare/runtimes/local.js -> bench/dist/src/cli.js */
const CLI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli.js');

export interface LocalRuntimeOptions {
  /** Time between SIGTERM and SIGKILL when stopping. */
  readonly stopGraceMs?: number;
  /** A fixed port instead of one the OS picks (a port in use then fails the start-up clearly). */
  readonly port?: number;
}

/** Runs each backend as `node bench/dist/src/cli.js serve ...`, a child process of this one. */
export function localRuntime(options: LocalRuntimeOptions = {}): Runtime {
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  return {
    name: 'local',
    async start(launch: BackendLaunch): Promise<RunningBackend> {
      const port = options.port ?? (await findFreePort());
      await mkdir(dirname(launch.logPath), { recursive: true });
      const log = createWriteStream(launch.logPath, { flags: 'a' });
      const args = [CLI_PATH, 'serve', '--backend', launch.backend, '--model', resolve(launch.modelDir), '--model-id', launch.modelId, '--port', String(port), '--host', '127.0.0.1'];
      for (const [flag, value] of Object.entries(serveOptionsFor(launch))) args.push(`--${flag}`, value);
      log.write(`$ ${process.execPath} ${args.join(' ')}\n`);
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      // A log that cannot be written (disk full) must not crash the comparison: the backend's
      // output is dropped from then on, and the run fails where its results cannot be written.
      log.on('error', () => {
        child.stdout.unpipe(log).resume();
        child.stderr.unpipe(log).resume();
      });

      let stopping = false;
      const closed = new Promise<BackendExit>((resolveExit) => {
        child.once('error', (error) => {
          log.write(`spawn failed: ${error.message}\n`);
          resolveExit({ code: null, signal: null });
        });
        child.once('close', (code, signal) => resolveExit({ code, signal }));
      });
      const logFlushed = closed.then(() => new Promise<void>((done) => (log.destroyed ? done() : log.end(() => done()))));
      // Unexpected exits only: after stop() this never settles, so a clean shutdown is not a crash.
      const exited = logFlushed.then(() => (stopping ? new Promise<never>(() => {}) : closed));
      const logTail = async (lines?: number) => readLogTail(launch.logPath, lines);

      const stop = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return void (await logFlushed);
        stopping = true;
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
        await logFlushed;
        clearTimeout(killTimer);
      };

      const baseUrl = `http://127.0.0.1:${port}`;
      const health = await waitUntilHealthy(baseUrl, launch.startupTimeoutMs, exited);
      if (!health.healthy) {
        await stop();
        throw new BackendStartError(`${launch.backend}: ${health.reason}`, await logTail());
      }
      return { baseUrl, pid: child.pid, exited, logTail, stop };
    },
  };
}
