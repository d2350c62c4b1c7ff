import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';

Chart.register(...registerables);
Chart.defaults.font.size = 14;
Chart.defaults.color = '#222';

const WIDTH = 1000;
const HEIGHT = 560;

/** Tableau 10: distinguishable, and readable when printed in grey. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function seriesColour(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** A PNG is transparent by default; reports and image viewers expect white. */
const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Renders one chart.js configuration to PNG bytes, off screen (no browser). */
export async function renderChart(configuration: ChartConfiguration): Promise<Buffer> {
  const canvas = createCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext('2d');
  const chart = new Chart(context as unknown as ConstructorParameters<typeof Chart>[0], {
    ...configuration,
    options: { ...configuration.options, responsive: false, animation: false, devicePixelRatio: 1 },
    plugins: [whiteBackground, ...(configuration.plugins ?? [])],
  } as ChartConfiguration);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}

/** A plugin that writes a message across the middle of the plot area (for charts without data). */
export function centredMessage(message: string): Plugin {
  return {
    id: 'centredMessage',
    afterDraw(chart) {
      const { ctx, chartArea } = chart;
      ctx.save();
      ctx.fillStyle = '#b22222';
      ctx.font = 'bold 22px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(message, (chartArea.left + chartArea.right) / 2, (chartArea.top + chartArea.bottom) / 2);
      ctx.restore();
    },
  };
}

/**
 * Draws each bar's repeats over it: a dot per repeat and a min–max whisker. `values[dataset][index]`
 * are the repeats behind bar `index` of dataset `dataset`.
 */
export function repeatMarks(values: ReadonlyArray<ReadonlyArray<readonly number[]>>): Plugin {
  return {
    id: 'repeatMarks',
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      const y = chart.scales.y!;
      ctx.save();
      values.forEach((bars, datasetIndex) => {
        const meta = chart.getDatasetMeta(datasetIndex);
        bars.forEach((repeats, index) => {
          const bar = meta.data[index];
          if (!bar || repeats.length === 0) return;
          const x = bar.x;
          const low = y.getPixelForValue(Math.min(...repeats));
          const high = y.getPixelForValue(Math.max(...repeats));
          ctx.strokeStyle = '#222';
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(x, low);
          ctx.lineTo(x, high);
          ctx.moveTo(x - 6, low);
          ctx.lineTo(x + 6, low);
          ctx.moveTo(x - 6, high);
          ctx.lineTo(x + 6, high);
          ctx.stroke();
          ctx.fillStyle = '#222';
          for (const value of repeats) {
            ctx.beginPath();
            ctx.arc(x, y.getPixelForValue(value), 3.5, 0, 2 * Math.PI);
            ctx.fill();
          }
        });
      });
      ctx.restore();
    },
  };
}
