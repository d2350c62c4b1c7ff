import { BroadcastChannel } from 'node:worker_threads';

export const CRASH_CHANNEL = 'embedbench-test-worker-crash';
/** The worker script to give OnnxBackend for tests that make a worker die. */
export const CRASHING_WORKER = new URL('./crashing-worker.js', import.meta.url);

/** Makes every CRASHING_WORKER thread alive now exit when its next batch arrives. */
export function crashWorkersOnNextBatch(): void {
  const channel = new BroadcastChannel(CRASH_CHANNEL);
  channel.postMessage('crash');
  channel.close();
}
