import type { LoadProgress } from './driver.js';

export function formatProgress(progress: LoadProgress): string {
  const p99 = progress.p99Ms === null ? '-' : `${progress.p99Ms.toFixed(1)} ms`;
  return (
    `${progress.phase === 'warmup' ? 'warm-up' : 'load'} ${progress.elapsedSeconds.toFixed(0)}s elapsed, ` +
    `${progress.remainingSeconds.toFixed(0)}s left | ${progress.requestsPerSecond.toFixed(1)} req/s | ` +
    `p99 ${p99} | ${progress.requests} requests, ${progress.errors} errors, ${progress.inFlight} in flight`
  );
}

/** One self-rewriting line on a terminal; plain periodic lines (every `intervalMs`) otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream): { intervalMs: number; print(progress: LoadProgress): void; finish(): void } {
  if (stream.isTTY) {
    let drawn = false;
    return {
      intervalMs: 500,
      print(progress) {
        stream.write(`\r\x1b[2K${formatProgress(progress)}`);
        drawn = true;
      },
      finish() {
        if (drawn) stream.write('\n');
      },
    };
  }
  return { intervalMs: 5000, print: (progress) => stream.write(`${formatProgress(progress)}\n`), finish() {} };
}
