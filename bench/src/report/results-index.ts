import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../fs/atomic.js';

export const RESULTS_INDEX_FILE = 'results_index.json';

export const runEntrySchema = z.object({
  backend: z.string(),
  batchSize: z.number().int().positive(),
  /** 1-based repeat number. */
  repeat: z.number().int().positive(),
  status: z.enum(['completed', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Files relative to the results directory. */
  stressFile: z.string().optional(),
  gpuFile: z.string().optional(),
  logFile: z.string().optional(),
  error: z.string().optional(),
  logTail: z.string().optional(),
});
export type RunEntry = z.infer<typeof runEntrySchema>;

export const modelRecordSchema = z.object({
  /** What the services report, e.g. answerdotai/ModernBERT-base or modernbert-tiny. */
  id: z.string(),
  path: z.string(),
  /** True for weights made by `model synth`: figures then say nothing about the real model's quality. */
  synthetic: z.boolean(),
  /** How the model was chosen, in words (printed and shown in the report). */
  provenance: z.string(),
});

export const resultsIndexSchema = z.object({
  schemaVersion: z.literal(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  model: modelRecordSchema,
  data: z.object({ path: z.string(), passages: z.number().int().nonnegative() }),
  settings: z.object({
    backends: z.array(z.string()),
    batchSizes: z.array(z.number().int().positive()),
    durationSeconds: z.number().positive(),
    maxConcurrentRequests: z.number().int().positive(),
    scenario: z.string(),
    warmupSeconds: z.number().nonnegative(),
    repeats: z.number().int().positive(),
    driver: z.string(),
    runtime: z.string(),
  }),
  gpu: z.object({ source: z.string(), detail: z.string() }),
  parity: z.object({
    threshold: z.number(),
    samples: z.array(z.object({ backend: z.string(), file: z.string() })),
    /** Backends whose parity sample could not be taken, with the reason. */
    errors: z.array(z.object({ backend: z.string(), error: z.string() })),
  }),
  runs: z.array(runEntrySchema),
});
export type ResultsIndex = z.infer<typeof resultsIndexSchema>;

export async function readResultsIndex(resultsDir: string): Promise<ResultsIndex> {
  const path = join(resultsDir, RESULTS_INDEX_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${path} not found: run \`embedbench compare --results-dir ${resultsDir}\` first`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = resultsIndexSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a valid results index: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function writeResultsIndex(resultsDir: string, index: ResultsIndex): Promise<void> {
  return writeJsonAtomic(join(resultsDir, RESULTS_INDEX_FILE), { ...index, updatedAt: new Date().toISOString() });
}
