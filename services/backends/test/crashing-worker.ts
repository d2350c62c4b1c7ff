/**
 * Test double of the onnx inference worker thread: the real worker, except that after a message on
 * CRASH_CHANNEL it exits with code 70 as soon as its next batch arrives. Its listener is registered
 * before the real worker's, so the batch never runs.
 */
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import { CRASH_CHANNEL } from './worker-crash.js';

let crashNextBatch = false;
const channel = new BroadcastChannel(CRASH_CHANNEL);
channel.onmessage = () => {
  crashNextBatch = true;
};
channel.unref();
parentPort!.on('message', () => {
  if (crashNextBatch) process.exit(70);
});
await import('../src/onnx/worker.js');
