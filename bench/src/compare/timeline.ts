import { performance } from 'node:perf_hooks';
import type { CompletedRequest } from '../load/driver.js';
import { LatencyRecorder } from '../load/histogram.js';
import type { TimeWindow } from '../result-files/schemas.js';

/** About 60 windows per run (at least 0.1 s each): enough to see drift within a short run, few enough to keep the file small. */
export function windowSecondsFor(durationSeconds: number): number {
  return Math.max(0.1, durationSeconds / 60);
}

/** Sorts the measured requests of one run into time windows (by completion time) and one latency histogram. */
export class TimelineRecorder {
  private readonly started = performance.now();
  private readonly windows: TimeWindow[] = [];
  readonly latency = new LatencyRecorder();

  constructor(readonly windowSeconds: number) {}

  record(response: CompletedRequest): void {
    const index = Math.floor((performance.now() - this.started) / 1000 / this.windowSeconds);
    while (this.windows.length <= index) this.windows.push({ requests: 0, failed: 0, embeddings: 0, latencySumMs: 0, latencyCount: 0, latencyMaxMs: 0 });
    const window = this.windows[index]!;
    window.requests++;
    if (!response.succeeded) window.failed++;
    window.embeddings += response.embeddings;
    if (response.latencyMs !== null) {
      window.latencySumMs += response.latencyMs;
      window.latencyCount++;
      window.latencyMaxMs = Math.max(window.latencyMaxMs, response.latencyMs);
      this.latency.record(response.latencyMs);
    }
  }

  timeWindows(): TimeWindow[] {
    return this.windows;
  }
}
