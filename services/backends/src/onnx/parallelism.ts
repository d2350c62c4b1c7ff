/** Inference worker threads, and the intra-op threads each worker's session uses. */
export interface Parallelism {
  readonly workers: number;
  readonly intraOpThreads: number;
}

/** Logical cores per worker on the CPU provider. */
const CPU_THREADS_PER_WORKER = 2;

/**
 * Workers x threads when the operator set neither or only one of them; an explicit value always
 * wins, and the other one then shares out the remaining cores.
 *
 * On the CPU provider, one worker per 2 logical cores with 2 threads each: several small sessions
 * keep the cores busier than one session whose operators each spread over every core. Measured with
 * the synthetic ModernBERT-base, fp32, batches of 32: on a 16-vCPU host, 16 clients, 8 x 2 served
 * 67.7 embeddings/s, 4 x 4 55.8 and 1 x 16 42.6; on a 2-core host, 1 x 2 and 2 x 1 were within
 * noise of each other (README, configuration). On a GPU provider one worker drives the device and
 * all cores stay with its session.
 */
export function chooseParallelism(
  requested: { readonly workers: number | undefined; readonly intraOpThreads: number | undefined },
  cores: number,
  onGpu: boolean,
): Parallelism {
  const share = (divisor: number) => Math.max(1, Math.floor(cores / divisor));
  if (requested.workers !== undefined) {
    return { workers: requested.workers, intraOpThreads: requested.intraOpThreads ?? share(requested.workers) };
  }
  if (onGpu) return { workers: 1, intraOpThreads: requested.intraOpThreads ?? cores };
  const intraOpThreads = requested.intraOpThreads ?? Math.min(CPU_THREADS_PER_WORKER, cores);
  return { workers: share(intraOpThreads), intraOpThreads };
}
