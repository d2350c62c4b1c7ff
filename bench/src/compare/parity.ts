import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { request } from 'undici';
import { z } from 'zod';
import type { ParitySample } from '../result-files/schemas.js';
import { EMBEDBENCH_VERSION } from '../version.js';

export const DEFAULT_PARITY_THRESHOLD = 0.99;

export interface PassageRef {
  readonly pid: string;
  readonly text: string;
}

const embedResponseSchema = z.object({ embeddings: z.array(z.array(z.number())) });

/** Embeds the sample through the running backend's /embed, exactly as clients would. */
export async function captureParitySample(baseUrl: string, backend: string, sample: readonly PassageRef[]): Promise<ParitySample> {
  const response = await request(`${baseUrl}/embed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts: sample.map((passage) => passage.text) }),
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  const body = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`parity sample: ${backend} /embed answered HTTP ${response.statusCode}: ${body.slice(0, 300)}`);
  const parsed = embedResponseSchema.safeParse(JSON.parse(body));
  if (!parsed.success || parsed.data.embeddings.length !== sample.length) {
    throw new Error(`parity sample: ${backend} /embed returned ${parsed.success ? parsed.data.embeddings.length : 'malformed'} embeddings for ${sample.length} texts`);
  }
  return { embedbenchVersion: EMBEDBENCH_VERSION, backend, capturedAt: new Date().toISOString(), pids: sample.map((passage) => passage.pid), embeddings: parsed.data.embeddings };
}

export interface ParityComparison {
  readonly baseline: string;
  readonly backend: string;
  readonly passages: number;
  readonly minCosine: number;
  readonly meanCosine: number;
  readonly threshold: number;
  readonly agrees: boolean;
  /** Why no cosine could be computed (different samples or dimensions). */
  readonly problem?: string;
}

/** Compares a backend's sample with the baseline's, passage by passage (matched by pid). */
export function compareParity(baseline: ParitySample, candidate: ParitySample, threshold: number): ParityComparison {
  const base = { baseline: baseline.backend, backend: candidate.backend, threshold };
  const baselineByPid = new Map(baseline.pids.map((pid, index) => [pid, baseline.embeddings[index]!]));
  const cosines: number[] = [];
  try {
    candidate.pids.forEach((pid, index) => {
      const reference = baselineByPid.get(pid);
      if (reference) cosines.push(cosineSimilarity(reference, candidate.embeddings[index]!));
    });
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    return { ...base, passages: 0, minCosine: Number.NaN, meanCosine: Number.NaN, agrees: false, problem };
  }
  if (cosines.length === 0) {
    return { ...base, passages: 0, minCosine: Number.NaN, meanCosine: Number.NaN, agrees: false, problem: 'no passage in common' };
  }
  const minCosine = Math.min(...cosines);
  const meanCosine = cosines.reduce((sum, value) => sum + value, 0) / cosines.length;
  return { ...base, passages: cosines.length, minCosine, meanCosine, agrees: minCosine >= threshold };
}
