import { open } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { envVarName, type ServeFlag } from '@embedbench/http/main';
import type { BackendExit, BackendLaunch } from './types.js';

export const DEFAULT_LOG_TAIL_LINES = 40;
const LOG_TAIL_BYTES = 64 * 1024;

/** A TCP port that was free a moment ago (the OS picks it); the backend binds it right after. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** The last `lines` lines of a log file, read from its end; '' when the file does not exist. */
export async function readLogTail(path: string, lines = DEFAULT_LOG_TAIL_LINES): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}

export type HealthWait = { healthy: true } | { healthy: false; reason: string };

/**
 * Polls GET /health until it answers 200, the backend exits, or the timeout passes.
 * The reason names what happened; the caller attaches the log tail.
 */
export async function waitUntilHealthy(
  baseUrl: string,
  timeoutMs: number,
  exited: Promise<BackendExit>,
  pollMs = 250,
): Promise<HealthWait> {
  let exit: BackendExit | undefined;
  void exited.then((value) => (exit = value));
  const deadline = Date.now() + timeoutMs;
  let lastStatus = 'no answer yet';
  while (Date.now() < deadline) {
    if (exit) return { healthy: false, reason: `backend exited before becoming healthy (${describeExit(exit)})` };
    try {
      const response = await request(`${baseUrl}/health`, { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = await response.body.text();
      if (response.statusCode === 200) return { healthy: true };
      lastStatus = `HTTP ${response.statusCode} ${body.slice(0, 200)}`;
    } catch (error) {
      lastStatus = error instanceof Error ? error.message : String(error);
    }
    await sleep(pollMs);
  }
  if (exit) return { healthy: false, reason: `backend exited before becoming healthy (${describeExit(exit)})` };
  return {
    healthy: false,
    reason: `backend not healthy after ${Math.round(timeoutMs / 1000)} s at ${baseUrl}/health (last: ${lastStatus})`,
  };
}

export function describeExit(exit: BackendExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** The variant's serve options, plus device=cpu when the backend gets no GPU and the variant names no device. */
export function serveOptionsFor(launch: BackendLaunch): Record<string, string> {
  return { ...(launch.useGpu || 'device' in launch.serveOptions ? {} : { device: 'cpu' }), ...launch.serveOptions };
}

/** The same options as the EMBEDBENCH_* environment variables the images read. */
export function serveEnvironment(launch: BackendLaunch): Record<string, string> {
  return Object.fromEntries(Object.entries(serveOptionsFor(launch)).map(([flag, value]) => [envVarName(flag as ServeFlag), value]));
}
