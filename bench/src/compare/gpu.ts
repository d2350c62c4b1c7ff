import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { type GpuRecording, type GpuSample, type GpuSourceKind } from '../result-files/schemas.js';

const execFileAsync = promisify(execFile);

export interface GpuSource {
  readonly kind: GpuSourceKind;
  readonly detail: string;
  /** One reading per GPU; empty for the 'none' source. */
  read(): Promise<GpuSample[]>;
}

export const NVIDIA_SMI_QUERY = 'timestamp,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu';

/** nvidia-smi writes "[N/A]" or "[Not Supported]" for fields a GPU does not report. */
function csvNumber(field: string | undefined): number | null {
  const value = Number(field?.trim());
  return field === undefined || field.trim() === '' || Number.isNaN(value) ? null : value;
}

/** Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY> --format=csv,noheader,nounits`: one line per GPU. */
export function parseNvidiaSmiCsv(output: string, readAt: Date): GpuSample[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line, index) => {
      const [timestamp, utilization, memoryUsed, memoryTotal, power, temperature] = line.split(',');
      const parsedTime = new Date(timestamp?.trim().replaceAll('/', '-') ?? '');
      return {
        timestamp: Number.isNaN(parsedTime.getTime()) ? readAt.toISOString() : parsedTime.toISOString(),
        gpu: String(index),
        utilizationPercent: csvNumber(utilization),
        memoryUsedMiB: csvNumber(memoryUsed),
        memoryTotalMiB: csvNumber(memoryTotal),
        powerWatts: csvNumber(power),
        temperatureCelsius: csvNumber(temperature),
      };
    });
}

interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the sample lines of the Prometheus text exposition format (comments and types are skipped). */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(LABEL_PAIR)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** dcgm-exporter field names; FB_* are MiB, POWER_USAGE is W, GPU_TEMP is °C. */
const DCGM_FIELDS = {
  DCGM_FI_DEV_GPU_UTIL: 'utilizationPercent',
  DCGM_FI_DEV_FB_USED: 'memoryUsedMiB',
  DCGM_FI_DEV_POWER_USAGE: 'powerWatts',
  DCGM_FI_DEV_GPU_TEMP: 'temperatureCelsius',
} as const satisfies Record<string, keyof GpuSample>;
type DcgmField = (typeof DCGM_FIELDS)[keyof typeof DCGM_FIELDS];

/** Turns a dcgm-exporter scrape into one reading per GPU (label `gpu`, else `UUID`). */
export function gpuSamplesFromDcgm(text: string, readAt: Date): GpuSample[] {
  const byGpu = new Map<string, GpuSample>();
  const freeMiB = new Map<string, number>();
  for (const sample of parsePrometheusText(text)) {
    if (!sample.name.startsWith('DCGM_FI_DEV_')) continue;
    const gpu = sample.labels.gpu ?? sample.labels.UUID ?? '0';
    let reading = byGpu.get(gpu);
    if (!reading) {
      reading = {
        timestamp: readAt.toISOString(),
        gpu,
        utilizationPercent: null,
        memoryUsedMiB: null,
        memoryTotalMiB: null,
        powerWatts: null,
        temperatureCelsius: null,
      };
      byGpu.set(gpu, reading);
    }
    if (sample.name === 'DCGM_FI_DEV_FB_FREE') freeMiB.set(gpu, sample.value);
    const field = (DCGM_FIELDS as Record<string, DcgmField | undefined>)[sample.name];
    if (field) reading[field] = sample.value;
  }
  for (const [gpu, reading] of byGpu) {
    const free = freeMiB.get(gpu);
    if (free !== undefined && reading.memoryUsedMiB !== null) reading.memoryTotalMiB = reading.memoryUsedMiB + free;
  }
  return [...byGpu.values()];
}

export function dcgmSource(url: string, timeoutMs = 5000): GpuSource {
  return {
    kind: 'dcgm-exporter',
    detail: url,
    async read() {
      const response = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${url} answered HTTP ${response.statusCode}`);
      return gpuSamplesFromDcgm(body, new Date());
    },
  };
}

export function nvidiaSmiSource(command = 'nvidia-smi'): GpuSource {
  const args = [`--query-gpu=${NVIDIA_SMI_QUERY}`, '--format=csv,noheader,nounits'];
  return {
    kind: 'nvidia-smi',
    detail: `${command} ${args.join(' ')}`,
    async read() {
      const { stdout } = await execFileAsync(command, args, { timeout: 10_000 });
      return parseNvidiaSmiCsv(stdout, new Date());
    },
  };
}

export function noGpuSource(reason: string): GpuSource {
  return { kind: 'none', detail: reason, read: () => Promise.resolve([]) };
}

/** True when `nvidia-smi -L` runs and lists at least one GPU. */
export async function hostHasNvidiaGpu(command = 'nvidia-smi'): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(command, ['-L'], { timeout: 10_000 });
    return /^GPU \d+/m.test(stdout);
  } catch {
    return false;
  }
}

/** dcgm-exporter when a URL is given, else nvidia-smi when it finds a GPU, else none (with the reason). */
export async function chooseGpuSource(gpuMetricsUrl: string | undefined): Promise<GpuSource> {
  if (gpuMetricsUrl) return dcgmSource(gpuMetricsUrl);
  if (await hostHasNvidiaGpu()) return nvidiaSmiSource();
  return noGpuSource('no GPU metrics: no --gpu-metrics-url given and nvidia-smi found no GPU on this host');
}

const MAX_RECORDED_ERRORS = 5;

/** Polls a source every pollSeconds in the background until stop(); a failed read is recorded, not fatal. */
export class GpuSampler {
  private readonly samples: GpuSample[] = [];
  private readonly errors: string[] = [];
  private readonly startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly source: GpuSource,
    private readonly pollSeconds: number,
  ) {}

  start(): this {
    if (this.source.kind !== 'none') this.poll();
    return this;
  }

  async stop(): Promise<GpuRecording> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    return {
      source: this.source.kind,
      detail: this.source.detail,
      pollSeconds: this.pollSeconds,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      samples: this.samples,
      errors: this.errors,
    };
  }

  private poll(): void {
    this.inFlight = this.source
      .read()
      .then((readings) => void this.samples.push(...readings))
      .catch((error: unknown) => {
        if (this.errors.length < MAX_RECORDED_ERRORS) this.errors.push(error instanceof Error ? error.message : String(error));
      })
      .finally(() => {
        if (!this.stopped) this.timer = setTimeout(() => this.poll(), this.pollSeconds * 1000);
      });
  }
}
