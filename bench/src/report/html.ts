import type { PlotName } from './charts.js';
import { verdicts, type ReportData } from './dataset.js';
import {
  environmentLines,
  fileLines,
  modelDescription,
  PARITY_COLUMNS,
  parityRows,
  READING_GUIDE,
  RESULT_COLUMNS,
  resultRows,
  runLine,
  runName,
  SERVER_TIME_COLUMNS,
  serverTimeRows,
  thresholdsLine,
  variantsDescription,
  verdictSentence,
  versionLine,
} from './summary.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Escapes text and shows the summary's `command` spans as code. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const FLAGGED = /FAILED|DRIFTING|UNSTABLE|BUSY HOST|although a GPU was requested/;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((title) => `<th>${escapeHtml(title)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const FIGURE_CAPTIONS: Record<PlotName, string> = {
  throughput: 'Throughput (embeddings per second) per batch size: bars are medians over repeats, dots the repeats, whiskers their min–max',
  latency: 'Latency percentiles (ms) of all repeats\' requests together; dots and whiskers: each repeat\'s own percentile',
  gpu: 'GPU utilization (%) over each run',
};

/** A line whose failures and warnings stand out. */
function flag(line: string): string {
  return FLAGGED.test(line) ? `<span class="flagged">${prose(line)}</span>` : prose(line);
}

/** report.html: one self-contained page (figures embedded as data URIs) with the summary's tables. */
export function reportHtml(data: ReportData, plots: Record<PlotName, Buffer>): string {
  const { index } = data;
  const s = index.settings;
  const figures = (Object.keys(FIGURE_CAPTIONS) as PlotName[])
    .map((name) => `<figure><img alt="${escapeHtml(FIGURE_CAPTIONS[name])}" src="data:image/png;base64,${plots[name].toString('base64')}"><figcaption>${escapeHtml(FIGURE_CAPTIONS[name])}</figcaption></figure>`)
    .join('\n');
  const failures = data.runs
    .filter((run) => run.entry.status === 'failed' || run.problem)
    .map((run) => ({ ...run, name: runName(run) }))
    .map(({ entry, problem, name }) => `<h3>${escapeHtml(name)}</h3><p>${escapeHtml(problem ?? entry.error ?? 'failed')}${entry.logFile ? ` (log: <code>${escapeHtml(entry.logFile)}</code>)` : ''}</p>${entry.logTail ? `<pre>${escapeHtml(entry.logTail)}</pre>` : ''}`)
    .join('\n');
  const syntheticBanner = index.model.synthetic
    ? '<p class="warning">These runs used SYNTHETIC weights (made by <code>embedbench model synth</code>) with the real architecture and shapes. The figures measure serving speed only; they say nothing about the real model\'s embeddings.</p>'
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>EmbedBench comparison: ${escapeHtml(index.model.id)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f3f3f3; }
td:nth-child(2), td:first-child { text-align: left; }
figure { margin: 1.5rem 0; }
img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: 0.8rem; }
.flagged { color: #b22222; font-weight: bold; }
</style>
</head>
<body>
<h1>EmbedBench comparison</h1>
${syntheticBanner}
<ul>
<li>Version: ${escapeHtml(versionLine(data))}</li>
<li>Model: ${prose(modelDescription(data))}</li>
<li>Data: <code>${escapeHtml(index.data.path)}</code> (${index.data.passages} passages)</li>
<li>Variants: ${escapeHtml(variantsDescription(data))}; runtime ${escapeHtml(s.runtime)}; driver ${escapeHtml(s.driver)}</li>
<li>Load: scenario ${escapeHtml(s.scenario)}, ${s.maxConcurrentRequests} concurrent requests, ${s.durationSeconds} s per run after ${s.warmupSeconds} s warm-up, ${s.repeats} repeat(s) per variant, interleaved</li>
<li>GPU metrics: ${escapeHtml(index.gpu.source === 'none' ? index.gpu.detail : `${index.gpu.source} (${index.gpu.detail})`)}</li>
<li>Thresholds: ${flag(thresholdsLine(data))}</li>
<li>Last update: ${escapeHtml(index.updatedAt)}</li>
</ul>
<h2>Winner per batch size</h2>
<ul>
${verdicts(data).map((verdict) => `<li>batch ${verdict.batchSize}: ${escapeHtml(verdictSentence(verdict))}</li>`).join('\n')}
</ul>
<h2>Results over repeats</h2>
<p>Latency percentiles are those of all repeats' requests together, from their merged histograms.</p>
${table(RESULT_COLUMNS, resultRows(data.cells))}
<h3>How to read the spread</h3>
<p>${prose(READING_GUIDE.join(' '))}</p>
<h2>Each run, in the order they ran</h2>
<ul>
${data.runs.map((run) => `<li>${flag(runLine(data, run))}</li>`).join('\n')}
</ul>
<h2>Environment</h2>
<ul>
${environmentLines(data).map((line) => `<li>${flag(line)}</li>`).join('\n')}
</ul>
<h2>Server time per request</h2>
<p>Mean milliseconds per request inside the service, from the x-queue-time, x-tokenization-time and x-inference-time headers.</p>
${table(SERVER_TIME_COLUMNS, serverTimeRows(data.cells))}
<h2>Embedding parity</h2>
<p>Cosine similarity of each variant's embeddings with the baseline (${escapeHtml(s.variants[0]?.label ?? '-')}) on a fixed sample of passages, embedded through each running service's /embed.</p>
${parityRows(data).length > 0 ? table(PARITY_COLUMNS, parityRows(data)) : '<p>Not enough backends with a parity sample to compare.</p>'}
<h2>Figures</h2>
${figures}
${failures ? `<h2>Failed runs</h2>\n${failures}` : ''}
<h2>Files</h2>
<ul>
${fileLines(data).map((line) => `<li>${prose(line)}</li>`).join('\n')}
</ul>
</body>
</html>
`;
}
