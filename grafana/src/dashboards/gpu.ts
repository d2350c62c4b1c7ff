import { METRIC_NAMES } from '@embedbench/loadtest/contract';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { backendVariable, dashboard, labelVariable, query, row, SERVICE, timeseries, UNITS, type Query } from '../common.js';

const GPU = 'gpu=~"$gpu"';
/** DCGM series per scrape job and GPU; the model name tells mixed hosts apart. */
const perGpu = (metric: string, legend = ''): Query =>
  query(`avg by (job, gpu, modelName) (${metric}{${GPU}})`, `{{job}} gpu{{gpu}} {{modelName}}${legend}`);
/** 1 per backend while it runs model batches, else 0: attributes a shared GPU's readings to the backend at work. */
const backendActive = `(sum by (backend) (rate(${METRIC_NAMES.inferenceDuration}_count{${SERVICE}}[$__rate_interval])) > bool 0)`;

/** DCGM exporter readings next to the backends that cause them. */
export function gpuDashboard(): DashboardBuilder {
  return dashboard('embedbench-gpu', 'EmbedBench / GPU (DCGM)', 'NVIDIA DCGM exporter readings, per scrape job and GPU, and per backend')
    .withVariable(backendVariable(METRIC_NAMES.httpRequests))
    .withVariable(labelVariable('instance', 'Service instance', `${METRIC_NAMES.httpRequests}{backend=~"$backend"}`))
    .withVariable(labelVariable('gpu', 'GPU', 'DCGM_FI_DEV_GPU_UTIL'))
    .withRow(row('Activity'))
    .withPanel(timeseries('GPU utilization', [perGpu('DCGM_FI_DEV_GPU_UTIL')], { unit: UNITS.percent }))
    .withPanel(
      timeseries('SM and tensor pipe activity', [perGpu('DCGM_FI_PROF_SM_ACTIVE', ' SM'), perGpu('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', ' tensor')], {
        unit: UNITS.ratio,
        description: 'Profiling fields: share of cycles with an SM busy / the tensor cores busy (needs DCP metrics in dcgm-exporter)',
      }),
    )
    .withRow(row('Memory, power and clocks'))
    .withPanel(
      timeseries('Framebuffer used and free', [perGpu('DCGM_FI_DEV_FB_USED', ' used'), perGpu('DCGM_FI_DEV_FB_FREE', ' free')], {
        unit: UNITS.decMegabytes,
        stacked: true,
      }),
    )
    .withPanel(timeseries('Power draw', [perGpu('DCGM_FI_DEV_POWER_USAGE')], { unit: UNITS.watts }))
    .withPanel(
      timeseries('Clocks', [perGpu('DCGM_FI_DEV_SM_CLOCK', ' SM'), perGpu('DCGM_FI_DEV_MEM_CLOCK', ' memory')], { unit: UNITS.megahertz }),
    )
    .withPanel(timeseries('Temperature', [perGpu('DCGM_FI_DEV_GPU_TEMP')], { unit: 'celsius' }))
    .withRow(row('Per backend'))
    .withPanel(
      timeseries(
        'GPU utilization while each backend runs batches',
        [query(`${backendActive} * scalar(avg(DCGM_FI_DEV_GPU_UTIL{${GPU}}))`, '{{backend}}')],
        { unit: UNITS.percent, description: 'The selected GPUs\' mean utilization, shown under each backend that ran batches in that interval' },
      ),
    )
    .withPanel(
      timeseries(
        'Embeddings per joule',
        [query(`sum by (backend) (rate(${METRIC_NAMES.embeddings}{${SERVICE}}[$__rate_interval])) / scalar(sum(DCGM_FI_DEV_POWER_USAGE{${GPU}}))`, '{{backend}}')],
        { unit: UNITS.count, description: 'Embeddings per second over the selected GPUs\' power draw; meaningful when one backend loads the GPU at a time, as `embedbench compare` runs them' },
      ),
    );
}
