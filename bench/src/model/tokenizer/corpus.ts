import { SeededRandom } from '../../text/random.js';
import { englishWordFrequencies } from '../../text/word-frequencies.js';

export interface WeightedText {
  readonly text: string;
  readonly weight: number;
}

/** Counts are scaled up so that fractional shares (e.g. capitalised forms) stay integers. */
export const WEIGHT_SCALE = 100;
/** Spread of the seeded log-normal jitter applied to every count, like drawing a fresh corpus. */
const COUNT_JITTER_SIGMA = 0.05;
/** Share of all training weight given to numerals (small counts and years). */
const NUMERAL_SHARE = 0.01;

/**
 * The word-frequency corpus both tokenizers learn from: SUBTLEXus words with seeded jitter on
 * their counts, plus Zipf-weighted numerals 0..999 and the years 1900..2030.
 */
export function trainingCorpus(seed: number): WeightedText[] {
  const random = new SeededRandom(seed);
  const corpus = englishWordFrequencies().map(({ word, count }) => ({
    text: word,
    weight: Math.max(1, Math.round(count * WEIGHT_SCALE * Math.exp(COUNT_JITTER_SIGMA * random.normal()))),
  }));
  const total = corpus.reduce((sum, entry) => sum + entry.weight, 0);
  const numeralWeight = total * NUMERAL_SHARE;
  let harmonic = 0;
  for (let n = 1; n <= 1000; n++) harmonic += 1 / n;
  for (let n = 0; n < 1000; n++) {
    corpus.push({ text: String(n), weight: Math.max(1, Math.round((numeralWeight / 2) / (harmonic * (n + 1)))) });
  }
  for (let year = 1900; year <= 2030; year++) {
    corpus.push({ text: String(year), weight: Math.max(1, Math.round(numeralWeight / 2 / 131)) });
  }
  return corpus;
}
