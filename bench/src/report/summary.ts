import { verdicts, type BatchVerdict, type Cell, type ReportData } from './dataset.js';

const fixed = (value: number | undefined, digits = 1): string => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));

export function modelDescription(data: ReportData): string {
  const { model } = data.index;
  const kind = model.synthetic
    ? 'SYNTHETIC weights made by `embedbench model synth`: speed figures only; they say nothing about the real model'
    : 'real weights';
  return `${model.id} (${kind}; ${model.provenance})`;
}

export function verdictSentence(verdict: BatchVerdict): string {
  const excluded = verdict.excluded.map((entry) => `${entry.backend} excluded: ${entry.reason}`);
  let sentence: string;
  if (!verdict.winner) sentence = 'no winner: no backend qualified';
  else if (!verdict.runnerUp) sentence = `only ${verdict.winner} qualified`;
  else sentence = `winner ${verdict.winner}, ${fixed(verdict.ratio, 2)}x the throughput of ${verdict.runnerUp}`;
  const unchecked = verdict.parityUnchecked.length > 0 ? [`embedding parity not checked for ${verdict.parityUnchecked.join(', ')}`] : [];
  return [sentence, ...excluded, ...unchecked].join('; ');
}

export const RESULT_COLUMNS = ['batch', 'backend', 'runs ok/failed', 'req/s', 'emb/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'success %', 'GPU util %', 'GPU mem MiB'] as const;

export function resultRows(cells: readonly Cell[]): string[][] {
  return cells.map((cell) => [
    String(cell.batchSize),
    cell.backend,
    `${cell.completed}/${cell.failed}`,
    fixed(cell.figures?.requestsPerSecond, 2),
    fixed(cell.figures?.embeddingsPerSecond, 1),
    fixed(cell.figures?.latencyMs?.p50),
    fixed(cell.figures?.latencyMs?.p90),
    fixed(cell.figures?.latencyMs?.p99),
    fixed(cell.figures?.latencyMs?.max),
    fixed(cell.figures === undefined ? undefined : cell.figures.successRate * 100, 2),
    fixed(cell.gpuUtilizationMean),
    fixed(cell.gpuMemoryMaxMiB, 0),
  ]);
}

export const SERVER_TIME_COLUMNS = ['batch', 'backend', 'queue ms', 'tokenization ms', 'inference ms'] as const;

/** Where a request's time goes inside the service (means of the x-*-time headers). */
export function serverTimeRows(cells: readonly Cell[]): string[][] {
  return cells
    .filter((cell) => cell.figures)
    .map((cell) => {
      const server = cell.figures!.serverMeanMs;
      return [String(cell.batchSize), cell.backend, fixed(server.queue ?? undefined), fixed(server.tokenization ?? undefined), fixed(server.inference ?? undefined)];
    });
}

export const PARITY_COLUMNS = ['backend', 'baseline', 'passages', 'min cosine', 'mean cosine', 'threshold', 'verdict'] as const;

export function parityRows(data: ReportData): string[][] {
  return [
    ...data.parity.map((p) => [p.backend, p.baseline, String(p.passages), fixed(p.minCosine, 5), fixed(p.meanCosine, 5), String(p.threshold), p.problem ?? (p.agrees ? 'agrees' : 'DISAGREES')]),
    ...data.parityErrors.map((e) => [e.backend, '-', '-', '-', '-', '-', `not checked: ${e.error}`]),
  ];
}

function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** summary_report.txt: settings, results table, winner per batch size, parity, failures. */
export function summaryText(data: ReportData): string {
  const { index } = data;
  const s = index.settings;
  const failures = data.runs.filter((run) => run.entry.status === 'failed' || run.problem);
  const sections = [
    'EmbedBench comparison report',
    '============================',
    `Model:     ${modelDescription(data)}`,
    `Data:      ${index.data.path} (${index.data.passages} passages)`,
    `Backends:  ${s.backends.join(', ')}   runtime ${s.runtime}, driver ${s.driver}`,
    `Load:      scenario ${s.scenario}, ${s.maxConcurrentRequests} concurrent requests, ${s.durationSeconds} s per run after ${s.warmupSeconds} s warm-up, ${s.repeats} repeat(s)`,
    `GPU:       ${index.gpu.source === 'none' ? index.gpu.detail : `${index.gpu.source} (${index.gpu.detail})`}`,
    `Runs:      ${index.runs.length} (${index.runs.filter((r) => r.status === 'completed').length} completed, ${index.runs.filter((r) => r.status === 'failed').length} failed); last update ${index.updatedAt}`,
    '',
    'Results (mean over completed repeats)',
    textTable(RESULT_COLUMNS, resultRows(data.cells)),
    '',
    'Server time per request (mean over requests, from the x-queue-time, x-tokenization-time and x-inference-time headers)',
    textTable(SERVER_TIME_COLUMNS, serverTimeRows(data.cells)),
    '',
    'Winner per batch size (by embeddings/s, among backends that completed, answered at least 99% of requests and agree with the baseline embeddings)',
    ...verdicts(data).map((verdict) => `  batch ${verdict.batchSize}: ${verdictSentence(verdict)}`),
    '',
    `Embedding parity (cosine similarity on a fixed sample of passages, against ${s.backends[0]})`,
    parityRows(data).length > 0 ? textTable(PARITY_COLUMNS, parityRows(data)) : '  not enough backends with a parity sample to compare',
  ];
  if (failures.length > 0) {
    sections.push('', 'Failed runs');
    for (const run of failures) {
      const { entry } = run;
      sections.push(`  ${entry.backend} batch ${entry.batchSize} repeat ${entry.repeat}: ${run.problem ?? entry.error ?? 'failed'}`);
      if (entry.logFile) sections.push(`    log: ${entry.logFile}`);
      if (entry.logTail) sections.push(...entry.logTail.split('\n').map((line) => `    | ${line}`));
    }
  }
  return `${sections.join('\n')}\n`;
}
