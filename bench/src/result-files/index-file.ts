import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../fs/atomic.js';
import { RESULTS_INDEX_SCHEMA_VERSION, resultsIndexSchema, type ResultsIndex } from './schemas.js';

export const RESULTS_INDEX_FILE = 'results_index.json';

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
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version < RESULTS_INDEX_SCHEMA_VERSION) {
    throw new Error(`${path} was written by an older embedbench (index schema v${version}, this one reads v${RESULTS_INDEX_SCHEMA_VERSION}): rerun \`embedbench compare\``);
  }
  const parsed = resultsIndexSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path} is not a valid results index: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function writeResultsIndex(resultsDir: string, index: ResultsIndex): Promise<void> {
  return writeJsonAtomic(join(resultsDir, RESULTS_INDEX_FILE), { ...index, updatedAt: new Date().toISOString() });
}
