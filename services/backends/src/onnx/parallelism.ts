import { readdirSync, readFileSync } from 'node:fs';

/** Inference worker threads, and the intra-op threads each worker's session uses. */
export interface Parallelism {
  readonly workers: number;
  readonly intraOpThreads: number;
}

/** The logical cores this process may use, and how many of them share one physical core. */
export interface CoreCount {
  readonly logical: number;
  readonly threadsPerCore: number;
}

/**
 * Workers x threads when the operator set neither or only one of them; an explicit value always
 * wins, and the other one then shares out the logical cores.
 *
 * On the CPU provider: one worker per physical core, with as many threads as the core has hardware
 * threads. Small sessions that each keep to one core beat one session whose every operator spreads
 * over all of them. Measured with the synthetic ModernBERT-base: on a 16-vCPU host (fp32, batch 32,
 * 16 clients) 8 x 2 served 67.7 embeddings/s, 4 x 4 55.8 and 1 x 16 42.6; on a 2-core host without
 * SMT (int8, 64 passages in 16-passage requests, other jobs sharing the cores) 2 x 1 served 4.9
 * embeddings/s and 1 x 2 2.5-3.8. On a GPU provider one worker drives the device with every core.
 */
export function chooseParallelism(
  requested: { readonly workers: number | undefined; readonly intraOpThreads: number | undefined },
  cores: CoreCount,
  onGpu: boolean,
): Parallelism {
  const share = (divisor: number) => Math.max(1, Math.floor(cores.logical / divisor));
  if (requested.workers !== undefined) {
    return { workers: requested.workers, intraOpThreads: requested.intraOpThreads ?? share(requested.workers) };
  }
  if (onGpu) return { workers: 1, intraOpThreads: requested.intraOpThreads ?? cores.logical };
  const intraOpThreads = requested.intraOpThreads ?? Math.min(cores.threadsPerCore, cores.logical);
  return { workers: share(intraOpThreads), intraOpThreads };
}

/**
 * Hardware threads per physical core from Linux's CPU topology (logical CPUs over distinct sibling
 * sets); 1 where the topology cannot be read.
 */
export function threadsPerCore(): number {
  try {
    const root = '/sys/devices/system/cpu';
    const cpus = readdirSync(root).filter((name) => /^cpu\d+$/.test(name));
    const siblingSets = new Set(cpus.map((cpu) => readFileSync(`${root}/${cpu}/topology/thread_siblings_list`, 'utf8').trim()));
    return siblingSets.size > 0 ? Math.max(1, Math.round(cpus.length / siblingSets.size)) : 1;
  } catch {
    return 1;
  }
}
