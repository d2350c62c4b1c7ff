import { METRIC_NAMES } from './contract.ts';

/**
 * Just enough of the Prometheus text format to read the service's own counters before and after a
 * run: the sum of every sample of `name` whose labels include all of `labels`. A declared family
 * without matching samples (nothing counted yet) is 0; a family the exposition does not mention at
 * all is null, so callers report "unknown" instead of guessing.
 */
export function sumCounter(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number | null {
  let total: number | null = null;
  for (const line of exposition.split('\n')) {
    if (total === null && line.startsWith(`# TYPE ${name} `)) total = 0;
    if (!line.startsWith(name)) continue;
    const match = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!match || match[1] !== name) continue;
    const sampleLabels = parseLabels(match[3] ?? '');
    if (!Object.entries(labels).every(([key, value]) => sampleLabels[key] === value)) continue;
    const value = Number(match[4]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_all, escaped: string) => (escaped === 'n' ? '\n' : escaped));
  }
  return labels;
}

/** The service counters a run reads: embed requests (all statuses) and tokens embedded. */
export const SERVICE_COUNTERS = {
  embedRequests: { name: METRIC_NAMES.httpRequests, labels: { route: '/embed' } },
  tokens: { name: METRIC_NAMES.tokens, labels: {} },
} as const;

export interface ServiceCounters {
  requests: number | null;
  tokens: number | null;
}

export function readServiceCounters(exposition: string): ServiceCounters {
  return {
    requests: sumCounter(exposition, SERVICE_COUNTERS.embedRequests.name, SERVICE_COUNTERS.embedRequests.labels),
    tokens: sumCounter(exposition, SERVICE_COUNTERS.tokens.name, SERVICE_COUNTERS.tokens.labels),
  };
}

export function counterDelta(before: ServiceCounters | null, after: ServiceCounters | null): ServiceCounters {
  const delta = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : b - a);
  return { requests: delta(before?.requests, after?.requests), tokens: delta(before?.tokens, after?.tokens) };
}
