import type { Device, ExecutionProvider, ProviderStatus } from '@embedbench/core/backend';
import type { ProviderProbe } from './probe.js';

export const GPU_PROVIDERS: ReadonlySet<ExecutionProvider> = new Set(['tensorrt', 'cuda', 'webgpu']);

/**
 * Token budget of one batch (rows x longest row) per device. On CPU, small batches of similar
 * length run fastest: with the synthetic ModernBERT-base, 8 clients x 32 MS-MARCO-like passages on
 * 2 cores, a 1024-token budget embedded 2.3x more per second than 16384 (npm run bench:serve).
 * 16384 is text-embeddings-inference's GPU default.
 */
export function batchTokenBudget(provider: ExecutionProvider): number {
  return GPU_PROVIDERS.has(provider) ? 16384 : 1024;
}

/**
 * Rows one batch may hold per device. A GPU gains from every row it runs at once (the token budget
 * is the real limit there); on the CPU, 32 rows of similar length keep padding low.
 */
export function batchRowLimit(provider: ExecutionProvider): number {
  return GPU_PROVIDERS.has(provider) ? 512 : 32;
}

export interface ProviderPlan<P extends ExecutionProvider = ExecutionProvider> {
  /** Providers to try, best first. */
  readonly candidates: readonly P[];
  /** Providers left out before trying, with the reason. */
  readonly excluded: readonly ProviderStatus[];
}

/**
 * Narrows the configured order to what the device setting allows and the probe proved. With
 * device 'auto', WebGPU on a software Vulkan driver (lavapipe) is left out: it is correct but far
 * slower than the CPU provider, so only an explicit --device webgpu (or a provider list naming only
 * webgpu) uses it.
 */
export function planProviders<P extends ExecutionProvider>(order: readonly P[], device: Device, probes: readonly ProviderProbe[]): ProviderPlan<P> {
  const candidates: P[] = [];
  const excluded: ProviderStatus[] = [];
  const explicitlyWebgpu = device === 'webgpu' || (order.length === 1 && order[0] === 'webgpu');
  for (const provider of order) {
    const probe = probes.find((entry) => entry.provider === provider);
    if (probe === undefined || !probe.available) excluded.push({ provider, status: 'unavailable', reason: probe?.detail ?? 'not probed' });
    else if (!allowedOn(device, provider)) excluded.push({ provider, status: 'skipped', reason: `--device ${device}` });
    else if (provider === 'webgpu' && !probe.gpu && !explicitlyWebgpu) {
      excluded.push({ provider, status: 'skipped', reason: `${probe.detail}; ask for it with --device webgpu` });
    } else candidates.push(provider);
  }
  return { candidates, excluded };
}

function allowedOn(device: Device, provider: ExecutionProvider): boolean {
  switch (device) {
    case 'auto':
      return true;
    case 'cpu':
      return provider === 'cpu';
    case 'cuda':
      return provider === 'cuda' || provider === 'tensorrt';
    case 'webgpu':
      return provider === 'webgpu';
  }
}

/**
 * The report /info shows: for each provider in the configured order, whether it is in use, why it
 * was left out, or that the one in use came first.
 */
export function providerReport(
  order: readonly ExecutionProvider[],
  plan: ProviderPlan,
  inUse: ExecutionProvider,
  failedToLoad: readonly ProviderStatus[],
  probes: readonly ProviderProbe[],
): ProviderStatus[] {
  return order.map((provider): ProviderStatus => {
    if (provider === inUse) return { provider, status: 'in use', reason: probes.find((probe) => probe.provider === provider)?.detail ?? '' };
    const known = [...plan.excluded, ...failedToLoad].find((entry) => entry.provider === provider);
    return known ?? { provider, status: 'not needed', reason: `${inUse} comes first` };
  });
}

/** True when a hardware GPU provider was proven to work on this machine. */
export function gpuProven(probes: readonly ProviderProbe[]): boolean {
  return probes.some((probe) => probe.available && probe.gpu);
}
