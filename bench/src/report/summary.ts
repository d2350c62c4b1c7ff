import { EMBEDBENCH_VERSION } from '../version.js';
import { MIN_WINNING_SUCCESS_RATE, variantOf, verdicts, type BatchVerdict, type Cell, type LoadedRun, type ReportData, type Spread } from './dataset.js';
import { busyHost } from './stability.js';

const fixed = (value: number | null | undefined, digits = 1): string => (value === undefined || value === null || Number.isNaN(value) ? '-' : value.toFixed(digits));

export function modelDescription(data: ReportData): string {
  const { model } = data.index;
  const kind = model.synthetic
    ? 'SYNTHETIC weights made by `embedbench model synth`: speed figures only; they say nothing about the real model'
    : 'real weights';
  return `${model.id} (${kind}; ${model.provenance})`;
}

export function versionLine(data: ReportData): string {
  const writers = [...new Set([data.index.embedbenchVersion, ...data.runs.flatMap((run) => (run.result?.environment.embedbenchVersion ? [run.result.environment.embedbenchVersion] : []))])];
  return `report by EmbedBench ${EMBEDBENCH_VERSION}; results written by EmbedBench ${writers.join(', ')}`;
}

const interval = (low: number, high: number, digits: number, unit = ''): string => `${low.toFixed(digits)}${unit}–${high.toFixed(digits)}${unit}`;

export function verdictSentence(verdict: BatchVerdict): string {
  const excluded = verdict.excluded.map((entry) => `${entry.backend} excluded: ${entry.reason}`);
  let sentence: string;
  const { leader, second, ratio } = verdict;
  if (!leader) sentence = 'no winner: no variant qualified';
  else if (!second) sentence = `only ${leader} qualified`;
  else if (!ratio) {
    sentence = `no clear difference: ${leader} ${fixed(verdict.pointRatio, 2)}x the throughput of ${second}, but from a single repeat, which shows no spread (use --repeats 3 or more)`;
  } else if (verdict.clear) {
    sentence = `winner ${leader}, ${ratio.ratio.toFixed(2)}x the throughput of ${second} (95% interval ${interval(ratio.low, ratio.high, 2, 'x')})`;
  } else {
    // The interval's half-width as a factor: how small a difference this comparison could resolve.
    const plusMinus = (Math.sqrt(ratio.high / ratio.low) - 1) * 100;
    sentence = `no clear difference (±${plusMinus.toFixed(0)}%): ${leader} ${ratio.ratio.toFixed(2)}x the throughput of ${second} (95% interval ${interval(ratio.low, ratio.high, 2, 'x')})`;
  }
  const unchecked = verdict.parityUnchecked.length > 0 ? [`embedding parity not checked for ${verdict.parityUnchecked.join(', ')}`] : [];
  return [sentence, ...excluded, ...unchecked].join('; ');
}

export const READING_GUIDE = [
  'Each variant ran every batch size several times, interleaved with the other variants, so that a host getting busier or quieter',
  'affects them all alike. "median" and "min–max" are over those repeats; the 95% interval is that of the mean throughput',
  '(bootstrap standard error over repeats times Student\'s t). A winner is named only when the two best intervals do not overlap;',
  'otherwise the difference is within the noise of this host. Runs flagged DRIFTING, UNSTABLE or BUSY HOST below widen the',
  'intervals: rerun on a quieter host, with more repeats (--repeats 5) or longer runs (--duration-seconds), or check the noise',
  'floor with an A/A comparison (the same variant twice, e.g. --backends onnx onnx).',
];

export const RESULT_COLUMNS = ['batch', 'variant', 'runs ok/failed', 'emb/s median', 'emb/s min–max', 'emb/s mean (95% interval)', 'req/s median', 'p50 ms', 'p90 ms', 'p99 ms', 'p99 per repeat', 'success %', 'GPU util %', 'GPU mem MiB'] as const;

function spreadRange(spread: Spread | undefined): string {
  return spread ? interval(spread.min, spread.max, 1) : '-';
}

function meanWithInterval(spread: Spread | undefined): string {
  if (!spread) return '-';
  return spread.interval ? `${spread.mean.toFixed(1)} (${interval(spread.interval.low, spread.interval.high, 1)})` : `${spread.mean.toFixed(1)} (one repeat)`;
}

export function resultRows(cells: readonly Cell[]): string[][] {
  return cells.map((cell) => [
    String(cell.batchSize),
    cell.backend,
    `${cell.completed}/${cell.failed}`,
    fixed(cell.embeddingsPerSecond?.median),
    spreadRange(cell.embeddingsPerSecond),
    meanWithInterval(cell.embeddingsPerSecond),
    fixed(cell.requestsPerSecond?.median, 2),
    fixed(cell.latencyMs?.p50),
    fixed(cell.latencyMs?.p90),
    fixed(cell.latencyMs?.p99),
    cell.p99PerRepeat.length > 0 ? interval(Math.min(...cell.p99PerRepeat), Math.max(...cell.p99PerRepeat), 0) : '-',
    fixed(cell.successRate === undefined ? undefined : cell.successRate * 100, 2),
    fixed(cell.gpuUtilizationMean),
    fixed(cell.gpuMemoryMaxMiB, 0),
  ]);
}

export const SERVER_TIME_COLUMNS = ['batch', 'variant', 'queue ms', 'tokenization ms', 'inference ms'] as const;

/** Where a request's time goes inside the service (means of the x-*-time headers over all repeats' requests). */
export function serverTimeRows(cells: readonly Cell[]): string[][] {
  return cells
    .filter((cell) => cell.completed > 0)
    .map((cell) => [String(cell.batchSize), cell.backend, fixed(cell.serverMeanMs.queue), fixed(cell.serverMeanMs.tokenization), fixed(cell.serverMeanMs.inference)]);
}

export const PARITY_COLUMNS = ['variant', 'baseline', 'passages', 'min cosine', 'mean cosine', 'threshold', 'verdict'] as const;

export function parityRows(data: ReportData): string[][] {
  return [
    ...data.parity.map((p) => [p.backend, p.baseline, String(p.passages), fixed(p.minCosine, 5), fixed(p.meanCosine, 5), String(p.threshold), p.problem ?? (p.agrees ? 'agrees' : 'DISAGREES')]),
    ...data.parityErrors.map((e) => [e.backend, '-', '-', '-', '-', '-', `not checked: ${e.error}`]),
  ];
}

export function runName(run: LoadedRun): string {
  return `${run.entry.backend} batch ${run.entry.batchSize} repeat ${run.entry.repeat}`;
}

/** Whether a run that was given the GPU ended up on the CPU's execution provider. */
function cpuDespiteGpu(data: ReportData, run: LoadedRun): boolean {
  const askedForCpu = variantOf(data, run.entry.backend)?.options.device === 'cpu';
  return data.index.settings.useGpu && !askedForCpu && run.entry.service?.executionProvider === 'cpu';
}

/** What the run measured, whether its thresholds passed, how steady it was, where it ran. */
export function runLine(data: ReportData, run: LoadedRun): string {
  const { entry, result } = run;
  const parts: string[] = [];
  if (!result) parts.push(`FAILED: ${run.problem ?? entry.error ?? 'failed'}`);
  else {
    const { thresholds } = result;
    const errorRate = result.requests.total === 0 ? 1 : result.requests.failed / result.requests.total;
    const p99 = result.latencyMs?.p99;
    const p99Passed = p99 !== undefined && p99 <= thresholds.p99TargetMs;
    const errorsPassed = errorRate <= thresholds.maxErrorRate;
    parts.push(`${result.throughput.embeddingsPerSecond.toFixed(1)} emb/s, ${result.requests.total} requests`);
    parts.push(
      `thresholds ${thresholds.passed ? 'passed' : 'FAILED'}: p99 ${fixed(p99, 0)} ms ${p99Passed ? '<=' : '>'} ${thresholds.p99TargetMs} ms ${p99Passed ? 'passed' : 'FAILED'}, ` +
        `error rate ${(errorRate * 100).toFixed(2)}% ${errorsPassed ? '<=' : '>'} ${(thresholds.maxErrorRate * 100).toFixed(2)}% ${errorsPassed ? 'passed' : 'FAILED'}`,
    );
    if (!run.stability) parts.push('stability not recorded (the driver reports totals only)');
    else if (!run.stability.judged) parts.push(`stability: ${run.stability.reason}`);
    else parts.push(run.stability.stability.flags.length > 0 ? run.stability.stability.flags.join('; ') : `steady (throughput CV ${(run.stability.stability.coefficientOfVariation * 100).toFixed(0)}%)`);
  }
  const busy = busyHost(entry.host);
  if (busy) parts.push(busy);
  const service = entry.service;
  if (service) parts.push(`provider ${service.executionProvider ?? 'unknown'}, dtype ${service.dtype ?? 'unknown'}`);
  if (cpuDespiteGpu(data, run)) parts.push('ran on CPU although a GPU was requested');
  return `${runName(run)}: ${parts.join('; ')}`;
}

const share = (value: number | null): string => (value === null ? 'unknown' : `${(value * 100).toFixed(0)}%`);

/** The host (from the load results), the service as /info described it, and the host's CPU use, run by run. */
export function environmentLines(data: ReportData): string[] {
  const environment = data.runs.find((run) => run.result)?.result?.environment;
  const lines: string[] = [];
  if (environment) {
    const memory = environment.memoryBytes === null ? 'memory unknown' : `${(environment.memoryBytes / 1024 ** 3).toFixed(1)} GiB`;
    lines.push(`Host: ${environment.hostname ?? 'unknown'}, ${environment.os ?? 'OS unknown'}, ${environment.cpuCount ?? '?'} x ${environment.cpuModel ?? 'CPU unknown'}, ${memory}, GPUs ${environment.gpus === null ? 'unknown' : environment.gpus.join(', ') || 'none'}; load by ${environment.runtime}`);
  }
  lines.push(`GPU requested: ${data.index.settings.useGpu ? 'yes' : 'no'}`);
  for (const run of data.runs) {
    const { service, host } = run.entry;
    const serviceText = service
      ? `provider ${service.executionProvider ?? 'unknown'}, dtype ${service.dtype ?? 'unknown'}, GPU available ${service.gpuAvailable === null ? 'unknown' : service.gpuAvailable ? 'yes' : 'no'}` +
        (service.providers ? `; providers ${service.providers.map((entry) => `${entry.provider} ${entry.status}`).join(', ')}` : '')
      : '/info not recorded';
    const hostText = host
      ? `load average ${fixed(host.loadAverage1m, 2)}, CPU busy ${share(host.busyShare)} (ours ${share(host.ownShare)}, other processes ${share(host.othersShare)}), steal ${share(host.stealShare)}`
      : 'host CPU use not recorded';
    lines.push(`${runName(run)}: ${serviceText}; ${hostText}${cpuDespiteGpu(data, run) ? '; ran on CPU although a GPU was requested' : ''}`);
  }
  const reasons = new Map<string, string>();
  for (const entry of data.runs.flatMap((run) => run.entry.service?.providers ?? [])) {
    if (entry.status !== 'in use' && entry.status !== 'not needed') reasons.set(`${entry.provider} ${entry.status}: ${entry.reason}`, entry.provider);
  }
  if (reasons.size > 0) lines.push(`Providers not used, and why: ${[...reasons.keys()].join('; ')}`);
  const busy = data.runs.filter((run) => busyHost(run.entry.host));
  if (busy.length > 0) lines.push(`Other processes used the CPU noticeably during ${busy.length} of ${data.runs.length} runs: their figures are less trustworthy; rerun on a quieter host.`);
  return lines;
}

export function fileLines(data: ReportData): string[] {
  return [
    `read (${data.filesRead.length}): ${data.filesRead.join(', ')}`,
    ...(data.filesIgnored.length > 0 ? [`ignored (${data.filesIgnored.length}):`, ...data.filesIgnored.map(({ file, reason }) => `  ${file}: ${reason}`)] : ['ignored: none']),
  ];
}

function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function variantsDescription(data: ReportData): string {
  return data.index.settings.variants.map((variant) => variant.label).join(', ');
}

export function thresholdsLine(data: ReportData): string {
  const measured = data.runs.filter((run) => run.result);
  const failed = measured.filter((run) => !run.result!.thresholds.passed);
  return failed.length === 0 ? `all ${measured.length} measured runs passed their p99 and error-rate thresholds` : `${failed.length} of ${measured.length} measured runs FAILED their p99 or error-rate threshold (see each run)`;
}

/** summary_report.txt: settings, results with their spread, winner per batch size, each run, environment, parity, failures, files. */
export function summaryText(data: ReportData): string {
  const { index } = data;
  const s = index.settings;
  const failures = data.runs.filter((run) => run.entry.status === 'failed' || run.problem);
  const sections = [
    'EmbedBench comparison report',
    '============================',
    `Version:     ${versionLine(data)}`,
    `Model:       ${modelDescription(data)}`,
    `Data:        ${index.data.path} (${index.data.passages} passages)`,
    `Variants:    ${variantsDescription(data)}   runtime ${s.runtime}, driver ${s.driver}`,
    `Load:        scenario ${s.scenario}, ${s.maxConcurrentRequests} concurrent requests, ${s.durationSeconds} s per run after ${s.warmupSeconds} s warm-up, ${s.repeats} repeat(s) per variant, interleaved`,
    `GPU metrics: ${index.gpu.source === 'none' ? index.gpu.detail : `${index.gpu.source} (${index.gpu.detail})`}`,
    `Runs:        ${index.runs.length} (${index.runs.filter((r) => r.status === 'completed').length} completed, ${index.runs.filter((r) => r.status === 'failed').length} failed); last update ${index.updatedAt}`,
    `Thresholds:  ${thresholdsLine(data)}`,
    '',
    `Winner per batch size (by mean embeddings/s over repeats, among variants that completed, answered at least ${MIN_WINNING_SUCCESS_RATE * 100}% of requests and agree with the baseline embeddings)`,
    ...verdicts(data).map((verdict) => `  batch ${verdict.batchSize}: ${verdictSentence(verdict)}`),
    '',
    'Results over repeats (latency percentiles: all repeats\' requests together, from their merged histograms)',
    textTable(RESULT_COLUMNS, resultRows(data.cells)),
    '',
    'How to read the spread',
    ...READING_GUIDE.map((line) => `  ${line}`),
    '',
    'Server time per request (mean over requests, from the x-queue-time, x-tokenization-time and x-inference-time headers)',
    textTable(SERVER_TIME_COLUMNS, serverTimeRows(data.cells)),
    '',
    'Each run, in the order they ran',
    ...data.runs.map((run) => `  ${runLine(data, run)}`),
    '',
    'Environment',
    ...environmentLines(data).map((line) => `  ${line}`),
    '',
    `Embedding parity (cosine similarity on a fixed sample of passages, against ${s.variants[0]?.label ?? '-'})`,
    parityRows(data).length > 0 ? textTable(PARITY_COLUMNS, parityRows(data)) : '  not enough variants with a parity sample to compare',
  ];
  if (failures.length > 0) {
    sections.push('', 'Failed runs');
    for (const run of failures) {
      const { entry } = run;
      sections.push(`  ${runName(run)}: ${run.problem ?? entry.error ?? 'failed'}`);
      if (entry.logFile) sections.push(`    log: ${entry.logFile}`);
      if (entry.logTail) sections.push(...entry.logTail.split('\n').map((line) => `    | ${line}`));
    }
  }
  sections.push('', 'Files', ...fileLines(data).map((line) => `  ${line}`));
  return `${sections.join('\n')}\n`;
}
