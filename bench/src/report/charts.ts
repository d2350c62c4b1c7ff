import type { ChartConfiguration } from 'chart.js';
import type { ReportData } from './dataset.js';
import { centredMessage, renderChart, seriesColour } from './plots.js';

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

function throughputChart(data: ReportData): ChartConfiguration {
  const { backends, batchSizes } = data.index.settings;
  return {
    type: 'bar',
    data: {
      labels: batchSizes.map(String),
      datasets: backends.map((backend, index) => ({
        label: backend,
        backgroundColor: seriesColour(index),
        data: batchSizes.map((batchSize) => data.cells.find((c) => c.backend === backend && c.batchSize === batchSize)?.figures?.embeddingsPerSecond ?? null),
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: `Throughput by batch size: ${modelLabel(data)}`, font: { size: 18 } },
        subtitle: { display: true, text: 'missing bar = run failed; higher is better' },
        legend: { position: 'top' },
      },
      scales: {
        x: { title: axisTitle('batch size (texts per request)') },
        y: { beginAtZero: true, title: axisTitle('throughput (embeddings / second)') },
      },
    },
  };
}

const PERCENTILES = ['p50', 'p90', 'p99'] as const;
/** Lighter shades of one hue per backend for the higher percentiles (hex alpha suffix). */
const PERCENTILE_ALPHA = ['', 'b0', '70'] as const;

function latencyChart(data: ReportData): ChartConfiguration {
  const { backends, batchSizes } = data.index.settings;
  return {
    type: 'bar',
    data: {
      labels: batchSizes.map(String),
      datasets: backends.flatMap((backend, backendIndex) =>
        PERCENTILES.map((percentile, percentileIndex) => ({
          label: `${backend} ${percentile}`,
          backgroundColor: `${seriesColour(backendIndex)}${PERCENTILE_ALPHA[percentileIndex]}`,
          borderColor: '#333',
          borderWidth: 1,
          data: batchSizes.map((batchSize) => data.cells.find((c) => c.backend === backend && c.batchSize === batchSize)?.figures?.latencyMs?.[percentile] ?? null),
        })),
      ),
    },
    options: {
      plugins: {
        title: { display: true, text: `Request latency percentiles: ${modelLabel(data)}`, font: { size: 18 } },
        subtitle: { display: true, text: 'lower is better' },
        legend: { position: 'top' },
      },
      scales: {
        x: { title: axisTitle('batch size (texts per request)') },
        y: { beginAtZero: true, title: axisTitle('latency (ms)') },
      },
    },
  };
}

function gpuChart(data: ReportData): ChartConfiguration {
  const series = data.runs.filter((run) => run.gpu && run.gpu.samples.length > 0);
  const datasets = series.flatMap((run, runIndex) => {
    const start = Date.parse(run.gpu!.startedAt);
    const gpus = [...new Set(run.gpu!.samples.map((sample) => sample.gpu))];
    return gpus.map((gpu) => ({
      label: `${run.entry.backend} batch ${run.entry.batchSize}${run.entry.repeat > 1 ? ` #${run.entry.repeat}` : ''}${gpus.length > 1 ? ` GPU ${gpu}` : ''}`,
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
