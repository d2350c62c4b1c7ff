import type { ChartConfiguration } from 'chart.js';
import type { Cell, ReportData } from './dataset.js';
import { centredMessage, renderChart, repeatMarks, seriesColour } from './plots.js';

export const PLOT_FILES = {
  throughput: 'plots/throughput_comparison.png',
  latency: 'plots/latency_comparison.png',
  gpu: 'plots/gpu_utilization.png',
} as const;
export type PlotName = keyof typeof PLOT_FILES;

const axisTitle = (text: string) => ({ display: true, text, font: { size: 15, weight: 'bold' as const } });

function modelLabel(data: ReportData): string {
  const { model } = data.index;
  return model.synthetic ? `${model.id} (SYNTHETIC weights)` : model.id;
}

function cellOf(data: ReportData, label: string, batchSize: number): Cell | undefined {
  return data.cells.find((c) => c.backend === label && c.batchSize === batchSize);
}

/** Each repeat's figure for one cell, from its load result. */
function perRepeat(data: ReportData, label: string, batchSize: number, pick: (run: ReportData['runs'][number]) => number | undefined): number[] {
  return data.runs
    .filter((run) => run.entry.backend === label && run.entry.batchSize === batchSize)
    .map(pick)
    .filter((value): value is number => value !== undefined);
}

/** Room on the value axis for the highest repeat, which may stand above every bar. */
function highestMark(marks: ReadonlyArray<ReadonlyArray<readonly number[]>>): number | undefined {
  const values = marks.flat(2);
  return values.length > 0 ? Math.max(...values) * 1.05 : undefined;
}

function throughputChart(data: ReportData): ChartConfiguration {
  const { labels } = data;
  const { batchSizes } = data.index.settings;
  const marks = labels.map((label) => batchSizes.map((batchSize) => perRepeat(data, label, batchSize, (run) => run.result?.throughput.embeddingsPerSecond)));
  return {
    type: 'bar',
    data: {
      labels: batchSizes.map(String),
      datasets: labels.map((label, index) => ({
        label,
        backgroundColor: seriesColour(index),
        data: batchSizes.map((batchSize) => cellOf(data, label, batchSize)?.embeddingsPerSecond?.median ?? null),
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: `Throughput by batch size: ${modelLabel(data)}`, font: { size: 18 } },
        subtitle: { display: true, text: 'bar = median over repeats, dots = repeats, whisker = min–max; missing bar = runs failed; higher is better' },
        legend: { position: 'top' },
      },
      scales: {
        x: { title: axisTitle('batch size (texts per request)') },
        y: { beginAtZero: true, suggestedMax: highestMark(marks), title: axisTitle('throughput (embeddings / second)') },
      },
    },
    plugins: [repeatMarks(marks)],
  };
}

const PERCENTILES = ['p50', 'p90', 'p99'] as const;
/** Lighter shades of one hue per backend for the higher percentiles (hex alpha suffix). */
const PERCENTILE_ALPHA = ['', 'b0', '70'] as const;

function latencyChart(data: ReportData): ChartConfiguration {
  const { labels } = data;
  const { batchSizes } = data.index.settings;
  const series = labels.flatMap((label, labelIndex) => PERCENTILES.map((percentile, percentileIndex) => ({ label, labelIndex, percentile, percentileIndex })));
  const marks = series.map(({ label, percentile }) => batchSizes.map((batchSize) => perRepeat(data, label, batchSize, (run) => run.result?.latencyMs?.[percentile])));
  return {
    type: 'bar',
    data: {
      labels: batchSizes.map(String),
      datasets: series.map(({ label, labelIndex, percentile, percentileIndex }) => ({
        label: `${label} ${percentile}`,
        backgroundColor: `${seriesColour(labelIndex)}${PERCENTILE_ALPHA[percentileIndex]}`,
        borderColor: '#333',
        borderWidth: 1,
        data: batchSizes.map((batchSize) => cellOf(data, label, batchSize)?.latencyMs?.[percentile] ?? null),
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: `Request latency percentiles: ${modelLabel(data)}`, font: { size: 18 } },
        subtitle: { display: true, text: 'bar = all repeats\' requests together; dots = each repeat\'s own percentile, whisker = their min–max; lower is better' },
        legend: { position: 'top' },
      },
      scales: {
        x: { title: axisTitle('batch size (texts per request)') },
        y: { beginAtZero: true, suggestedMax: highestMark(marks), title: axisTitle('latency (ms)') },
      },
    },
    plugins: [repeatMarks(marks)],
  };
}

function gpuChart(data: ReportData): ChartConfiguration {
  const series = data.runs.filter((run) => run.gpu && run.gpu.samples.length > 0);
  const datasets = series.flatMap((run, runIndex) => {
    const start = Date.parse(run.gpu!.startedAt);
    const gpus = [...new Set(run.gpu!.samples.map((sample) => sample.gpu))];
    return gpus.map((gpu) => ({
      label: `${run.entry.backend} batch ${run.entry.batchSize} repeat ${run.entry.repeat}${gpus.length > 1 ? ` GPU ${gpu}` : ''}`,
      borderColor: seriesColour(runIndex),
      backgroundColor: seriesColour(runIndex),
      pointRadius: 2,
      data: run.gpu!.samples
        .filter((sample) => sample.gpu === gpu && sample.utilizationPercent !== null)
        .map((sample) => ({ x: (Date.parse(sample.timestamp) - start) / 1000, y: sample.utilizationPercent! })),
    }));
  });
  const noData = datasets.length === 0;
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: {
        title: { display: true, text: `GPU utilization during each run (source: ${data.index.gpu.source})`, font: { size: 18 } },
        subtitle: { display: noData, text: data.index.gpu.detail },
        legend: { position: 'top', display: !noData },
      },
      scales: {
        x: { type: 'linear', min: 0, title: axisTitle('time since run start (s)') },
        y: { min: 0, max: 100, title: axisTitle('GPU utilization (%)') },
      },
    },
    plugins: noData ? [centredMessage('no GPU metrics')] : [],
  };
}

export async function renderPlots(data: ReportData): Promise<Record<PlotName, Buffer>> {
  const [throughput, latency, gpu] = await Promise.all([
    renderChart(throughputChart(data)),
    renderChart(latencyChart(data)),
    renderChart(gpuChart(data)),
  ]);
  return { throughput, latency, gpu };
}
