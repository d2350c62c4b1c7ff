import type { Command } from 'commander';
import { join } from 'node:path';
import { DEFAULTS, SCENARIOS } from '@embedbench/loadtest/parameters';
import { describeThresholds } from '@embedbench/loadtest/result';
import { writeJsonAtomic } from '../fs/atomic.js';
import { runLoad } from '../load/driver.js';
import type { LoadOptions, LoadResult } from '../load/driver.js';
import { progressPrinter } from '../load/progress.js';
import { forceOption, refuseOverwrite } from '../overwrite.js';

/** k6 exits with 99 when a threshold fails; so does this command. */
export const THRESHOLDS_FAILED_EXIT_CODE = 99;

/** Where `load` writes by default: its own folder, apart from the results folders `compare` makes and `report` reads. */
export const LOAD_RESULTS_DIR = 'load-results';

interface CommandOptions extends LoadOptions {
  out?: string;
  force?: boolean;
}

/** `load-results/load_<backend>_batch<N>_<YYYYMMDD_HHMMSS>.json`, named when the command starts. */
export function defaultResultPath(backend: string, batchSize: string | number, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return join(LOAD_RESULTS_DIR, `load_${backend}_batch${batchSize}_${stamp}.json`);
}

export function register(program: Command): void {
  program
    .command('load')
    .description('Load-test a running service with the built-in driver (same parameters and result schema as loadtest/embed.ts)')
    .option('--base-url <url>', `service URL (default ${DEFAULTS.BASE_URL})`)
    .option('--backend <label>', `backend label recorded in the result (default ${DEFAULTS.BACKEND})`)
    .option('--batch-size <n>', `passages per request (default ${DEFAULTS.BATCH_SIZE})`)
    .option('--duration <time>', `measured duration, e.g. 30s, 2m (default ${DEFAULTS.DURATION})`)
    .option('--scenario <name>', `${SCENARIOS.join('|')} (default ${DEFAULTS.SCENARIO})`)
    .option('--vus <n>', `closed model: concurrent users (default ${DEFAULTS.VUS})`)
    .option('--rate <n>', `open model: requests started per second; saturation: highest step (default ${DEFAULTS.RATE})`)
    .option('--max-vus <n>', `open/saturation: most requests in flight (default ${DEFAULTS.MAX_VUS})`)
    .option('--dataset <file>', `prepared passages, JSON Lines of {"pid","text"} (default ${DEFAULTS.DATASET})`)
    .option('--testid <id>', 'run identifier (default <backend>-b<batch>-<scenario>-<UTC time>)')
    .option('--p99-target-ms <ms>', `p99 threshold and saturation target (default ${DEFAULTS.P99_TARGET_MS})`)
    .option('--max-error-rate <fraction>', `error-rate threshold (default ${DEFAULTS.MAX_ERROR_RATE})`)
    .option('--expected-dim <n>', 'embedding dimension to check (default: from GET /info)')
    .option('--timeout <time>', `per-request timeout (default ${DEFAULTS.TIMEOUT})`)
    .option('--saturation-start-rate <n>', `saturation: first step's rate (default ${DEFAULTS.SATURATION_START_RATE})`)
    .option('--saturation-max-rate <n>', 'saturation: last step\'s rate (default --rate)')
    .option('--saturation-steps <n>', `saturation: number of steps (default ${DEFAULTS.SATURATION_STEPS})`)
    .option('--max-requests <n>', 'stop after this many measured requests')
    .option('--warmup <time>', 'unmeasured load of the same shape before measuring (default none)')
    .option('--out <file>', `result file (default ${LOAD_RESULTS_DIR}/load_<backend>_batch<N>_<UTC time>.json)`)
    .addOption(forceOption('an existing --out file'))
    .addHelpText(
      'after',
      '\nPrints one summary line, naming each failed threshold and by how much; exits 99 when the error-rate or p99 threshold ' +
        'fails (as k6 does). Ctrl-C stops early and still writes the result.',
    )
    .action(async (options: CommandOptions) => {
      const out = options.out ?? defaultResultPath(String(options.backend ?? DEFAULTS.BACKEND), options.batchSize ?? DEFAULTS.BATCH_SIZE, new Date());
      await refuseOverwrite(out, options.force === true);
      const stop = new AbortController();
      const onInterrupt = () => stop.abort();
      process.once('SIGINT', onInterrupt);
      const printer = progressPrinter(process.stderr);
      let result: LoadResult;
      try {
        const { out: _out, force: _force, ...loadOptions } = options;
        result = await runLoad({ ...loadOptions, signal: stop.signal, onProgress: printer.print, progressIntervalMs: printer.intervalMs });
      } finally {
        printer.finish();
        process.removeListener('SIGINT', onInterrupt);
      }
      await writeJsonAtomic(out, result);
      process.stdout.write(`${summaryLine(result)}\nresult: ${out}\n`);
      if (!result.thresholds.passed) process.exitCode = THRESHOLDS_FAILED_EXIT_CODE;
    });
}

export function summaryLine(result: LoadResult): string {
  const latency = result.latencyMs;
  const tokens = result.throughput.tokensPerSecond;
  return (
    `${result.backend} batch=${result.batchSize} ${result.scenario}: ${result.requests.total} requests in ${result.durationSeconds.toFixed(1)}s, ` +
    `${result.throughput.requestsPerSecond.toFixed(2)} req/s, ${result.throughput.embeddingsPerSecond.toFixed(1)} emb/s, ` +
    `${tokens === null ? 'tokens/s unknown' : `${tokens.toFixed(0)} tokens/s`}, ` +
    `p50 ${latency ? latency.p50.toFixed(1) : '-'} ms, p99 ${latency ? latency.p99.toFixed(1) : '-'} ms, ` +
    `success ${(result.successRate * 100).toFixed(2)}%` +
    (result.saturation ? `, sustained ${result.saturation.sustainedRate ?? 'none'} req/s` : '') +
    (result.requests.dropped > 0 ? `, ${result.requests.dropped} cut off` : '') +
    `, ${describeThresholds(result)}`
  );
}
