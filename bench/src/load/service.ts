import { request } from 'undici';
import { modelInfo } from '@embedbench/loadtest/embed-response';
import { readServiceCounters } from '@embedbench/loadtest/prometheus';
import type { ServiceCounters } from '@embedbench/loadtest/prometheus';

const LOOKUP_TIMEOUT_MS = 10_000;

async function getText(url: string): Promise<string | null> {
  try {
    // reset: no keep-alive socket left behind to hold the process open after the run.
    const response = await request(url, { headersTimeout: LOOKUP_TIMEOUT_MS, bodyTimeout: LOOKUP_TIMEOUT_MS, reset: true });
    const body = await response.body.text();
    return response.statusCode === 200 ? body : null;
  } catch {
    return null;
  }
}

/** Model id and embedding dimension from GET /info; nulls when the service does not say. */
export async function fetchModelInfo(baseUrl: string): Promise<{ model: string | null; embeddingDim: number | null }> {
  const text = await getText(`${baseUrl}/info`);
  if (text === null) return { model: null, embeddingDim: null };
  try {
    return modelInfo(JSON.parse(text));
  } catch {
    return { model: null, embeddingDim: null };
  }
}

/** The service's own request and token counters, or null when /metrics is unreachable. */
export async function fetchServiceCounters(baseUrl: string): Promise<ServiceCounters | null> {
  const text = await getText(`${baseUrl}/metrics`);
  return text === null ? null : readServiceCounters(text);
}
