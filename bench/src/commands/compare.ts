import type { Command } from 'commander';
import Docker from 'dockerode';
import { SCENARIOS } from '@embedbench/loadtest/parameters';
import { chooseDriver } from '../compare/drivers.js';
import { chooseGpuSource, hostHasNvidiaGpu } from '../compare/gpu.js';
import { CompareInputError, preparePassages, resolveModel } from '../compare/inputs.js';
import { CompareOptionsError, DEFAULTS, DRIVERS, parseCompareOptions, POC_OPTIONS, PRESETS, QUICKSTART_PRESET, type CompareSettings } from '../compare/options.js';
import { runComparison, type RunProgress } from '../compare/orchestrator.js';
import { RUNTIME_NAMES, RUNTIMES } from '../compare/runtimes/index.js';
import { CliError } from '../errors.js';
import { generateReport } from '../report/generate.js';

export function register(program: Command): void {
  const command = program
    .command('compare')
    .description(
      'Run every backend variant x batch size x repeat one at a time, variants interleaved (start, warm up, load while ' +
        'sampling GPU metrics and host CPU use, stop), then write stress_*/timeline_*/gpu_*/parity_* JSON, results_index.json, ' +
        'summary_report.txt, plots/*.png and report.html',
    )
    .option(
      '--backends <variants...>',
      `backends to compare, space- or comma-separated, each with optional serve options: onnx 'onnx[dtype=q8]' ` +
        `'onnx[intra-op-threads=1,max-batch-tokens=512]'; list one twice for an A/A noise check (default ${DEFAULTS.backends.join(',')})`,
    )
    .option('--model <dir|hub-id>', 'model directory or Hugging Face id (default: the quickstart preset)')
    .option('--model-id <name>', 'model name the services report (default: the Hub id or the directory name)')
    .option('--preset <name>', `${PRESETS.join('|')}: README's offline-friendly default, used when --model is not given ` +
      `(${QUICKSTART_PRESET.batchSizes.join(',')} batch sizes, ${QUICKSTART_PRESET.repeats} x ${QUICKSTART_PRESET.durationSeconds} s runs, ModernBERT-base or its synthetic twin)`)
    .option('--data <file>', `prepared passages, JSON Lines of {"pid","text"} (default ${DEFAULTS.data})`)
    .option('--duration-seconds <s>', 'measured seconds per run (overrides --duration-minutes)')
    .option('--scenario <name>', `${SCENARIOS.join('|')} (default ${DEFAULTS.scenario})`)
    .option('--rate <n>', `open: requests per second; saturation: highest rate (default ${DEFAULTS.rate})`)
    .option('--warmup <s>', `unmeasured seconds of load before each run (default ${DEFAULTS.warmup})`)
    .option('--repeats <n>', `runs per variant x batch size, interleaved with the other variants' (default ${DEFAULTS.repeats}; the spread needs 3 or more)`)
    .option('--driver <name>', `${DRIVERS.join('|')}: auto uses k6 when it is on PATH (default ${DEFAULTS.driver})`)
    .option('--runtime <name>', `${RUNTIME_NAMES.join('|')} (default ${DEFAULTS.runtime})`)
    .option('--image <backend=ref...>', 'container image per backend (docker default: embedbench/<backend>:latest with a GPU, :cpu without; apptainer default: embedbench.sif)')
    .option('--results-dir <dir>', `where results go (default ${DEFAULTS.resultsDir})`)
    .option('--gpu-metrics-url <url>', 'dcgm-exporter /metrics URL (default: poll nvidia-smi when it finds a GPU, else no GPU metrics)')
    .option('--gpu-poll-seconds <s>', `GPU sampling interval (default ${DEFAULTS.gpuPollSeconds})`)
    .option('--startup-timeout-seconds <s>', `how long a backend may take to answer /health (default ${DEFAULTS.startupTimeoutSeconds})`)
    .option('--parity-sample <n>', `passages every backend embeds for the parity check (default ${DEFAULTS.paritySample})`)
    .option('--parity-threshold <cosine>', `lowest cosine with the first backend that still counts as agreeing (default ${DEFAULTS.parityThreshold})`);
  const pocDefaults: Record<keyof typeof POC_OPTIONS, string> = {
    durationMinutes: `measured minutes per run (default ${DEFAULTS.durationMinutes})`,
    batchSizes: `texts per request, space- or comma-separated (default ${DEFAULTS.batchSizes.join(' ')})`,
    maxConcurrentRequests: `concurrent clients in the closed scenario (default ${DEFAULTS.maxConcurrentRequests})`,
    numSentences: `passages used from the data file (default ${DEFAULTS.numSentences})`,
  };
  for (const [key, flag] of Object.entries(POC_OPTIONS) as Array<[keyof typeof POC_OPTIONS, string]>) {
    const value = key === 'batchSizes' ? '<sizes...>' : '<n>';
    command.option(`--${flag} ${value}`, pocDefaults[key]);
    command.option(`--config.${flag} ${value}`, `same as --${flag} (run_comparison.py spelling)`);
  }
  command.action(async (raw: Record<string, unknown>) => {
    let settings: CompareSettings;
    try {
      settings = parseCompareOptions(raw);
    } catch (error) {
      if (error instanceof CompareOptionsError) throw new CliError(error.message);
      throw error;
    }
    await compare(settings);
  });
}

const note = (text: string) => process.stderr.write(text);

function formatSeconds(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}

/** One status line: rewritten in place on a terminal, printed every 10 s otherwise (CI logs). */
function progressLine(settings: CompareSettings): (progress: RunProgress) => void {
  const perRunSeconds = settings.durationSeconds + settings.warmupSeconds;
  let lastPrinted = 0;
  return (progress) => {
    const phaseOffset = progress.phase === 'load' ? settings.warmupSeconds : 0;
    const runsLeft = progress.total - progress.position;
    const totalRemaining = runsLeft * perRunSeconds + (perRunSeconds - phaseOffset - progress.elapsedSeconds);
    const rate = progress.requestsPerSecond === undefined ? 'req/s n/a (k6)' : `${progress.requestsPerSecond.toFixed(1)} req/s`;
    const line =
      `[${progress.position}/${progress.total}] ${progress.backend} batch ${progress.batchSize}` +
      `${settings.repeats > 1 ? ` repeat ${progress.repeat}` : ''} ${progress.phase}: ` +
      `${formatSeconds(progress.elapsedSeconds)} elapsed, ${formatSeconds(progress.remainingSeconds)} left, ${rate}; ` +
      `about ${formatSeconds(totalRemaining)} left in all (plus start-ups)`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
    else if (Date.now() - lastPrinted >= 10_000) {
      lastPrinted = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };
}

async function compare(settings: CompareSettings): Promise<void> {
  const interrupt = new AbortController();
  const onInterrupt = () => {
    note('\ninterrupted: stopping the current run; finished runs are kept\n');
    interrupt.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    const model = await resolveModel(settings, note).catch(rethrowInputError);
    const data = await preparePassages(settings, note).catch(rethrowInputError);
    const docker = settings.runtime === 'docker' ? new Docker() : undefined;
    const driver = await chooseDriver(settings.driver, docker).catch((error: Error) => Promise.reject(new CliError(error.message)));
    const gpuSource = await chooseGpuSource(settings.gpuMetricsUrl);
    const useGpu = await hostHasNvidiaGpu();
    const runtime = RUNTIMES[settings.runtime]({ images: settings.images, docker });
    const modelLine = `${model.record.id}${model.record.synthetic ? ' (SYNTHETIC weights: speed figures only)' : ''}: ${model.record.provenance}`;
    process.stdout.write(
      [
        `model:    ${modelLine}`,
        `data:     ${data.path} (${data.passages.length} passages)`,
        `runs:     ${settings.variants.map((variant) => variant.label).join(', ')} x batch ${settings.batchSizes.join(', ')} x ${settings.repeats} repeats (interleaved), ${settings.durationSeconds} s each after ${settings.warmupSeconds} s warm-up`,
        `load:     ${driver.name} driver, ${settings.scenario} scenario, ${settings.maxConcurrentRequests} concurrent; runtime ${runtime.name}; ${useGpu ? 'GPU' : 'CPU only'}`,
        `gpu:      ${gpuSource.kind === 'none' ? gpuSource.detail : `${gpuSource.kind} (${gpuSource.detail})`}`,
        `results:  ${settings.resultsDir}`,
        '',
      ].join('\n'),
    );
    const onProgress = progressLine(settings);
    const index = await runComparison(
      {
        settings,
        model: model.record,
        modelDir: model.dir,
        dataset: data.path,
        passages: data.passages,
        paritySample: data.passages.slice(0, settings.paritySampleSize),
        runtime,
        driver,
        gpuSource,
        useGpu,
        interrupt: interrupt.signal,
      },
      {
        onRunStart: (run) => note(`[${run.position}/${run.total}] starting ${run.backend} for batch ${run.batchSize}${settings.repeats > 1 ? ` (repeat ${run.repeat})` : ''}\n`),
        onProgress,
        onNote: (message) => note(`${message}\n`),
        onRunEnd: (run, entry) =>
          note(`${process.stderr.isTTY ? '\n' : ''}[${run.position}/${run.total}] ${run.backend} batch ${run.batchSize}: ${entry.status}${entry.error ? ` (${entry.error})` : ''}\n`),
      },
    );
    const report = await generateReport(settings.resultsDir);
    process.stdout.write(`\n${report.summary}\nwrote ${report.written.join(', ')} and ${index.runs.length} run(s) in ${settings.resultsDir}\n`);
    if (index.runs.every((run) => run.status === 'failed')) throw new CliError('every run failed; see the log tails in summary_report.txt');
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

function rethrowInputError(error: unknown): never {
  if (error instanceof CompareInputError) throw new CliError(error.message);
  throw error;
}
