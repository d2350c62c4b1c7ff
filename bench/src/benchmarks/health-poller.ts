/**
 * Worker thread of the serving benchmarks: polls GET /health at a fixed interval until told to stop, then
 * posts back the response times of the polls answered 200 and the number that were not. It runs
 * off the benchmark's main thread so that parsing large embedding responses there does not
 * inflate the latencies measured here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { request } from 'undici';
import type { HealthPolls } from './service-process.js';

const { url, intervalMs } = workerData as { url: string; intervalMs: number };
const port = parentPort!;
let stopped = false;
port.once('message', () => {
  stopped = true;
});

const polls: HealthPolls = { latencies: [], failures: 0 };
while (!stopped) {
  const started = performance.now();
  try {
    const response = await request(`${url}/health`);
    await response.body.dump();
    if (response.statusCode === 200) polls.latencies.push(performance.now() - started);
    else polls.failures += 1;
  } catch {
    polls.failures += 1;
  }
  await sleep(intervalMs);
}
port.postMessage(polls);
