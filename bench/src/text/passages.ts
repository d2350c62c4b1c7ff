import { SeededRandom } from './random.js';
import { CONTRACTION_PIECES, englishWordFrequencies } from './word-frequencies.js';

/**
 * Log-normal fit of MS MARCO passage lengths in words: mean exp(mu + sigma^2 / 2) = 56 words, median
 * about 49, and about 0.3% of passages longer than 200 words; clamped to 3..400 words.
 */
const MS_MARCO_WORD_COUNT = { mu: Math.log(56) - 0.5 ** 2 / 2, sigma: 0.5, min: 3, max: 400 } as const;

/** Contraction pieces re-attached to the previous word ("it" + "s" -> "it's", "don" + "t" -> "don't"). */
const ATTACHED_SUFFIXES: ReadonlyMap<string, (previous: string) => boolean> = new Map([
  ['s', () => true],
  ['t', (previous: string) => previous.endsWith('n')],
]);
/** The other pieces ("re", "ll", ...) would need the right verb before them, so they are redrawn. */
const DROPPED_PIECES = new Set([...CONTRACTION_PIECES].filter((piece) => !ATTACHED_SUFFIXES.has(piece)));

/**
 * Words are drawn with probability proportional to count^0.75: spoken-English counts flattened
 * towards written web text, which gives about 6.2 characters per word (MS MARCO: about 6).
 */
const WORD_FREQUENCY_EXPONENT = 0.75;
const NUMBER_PROBABILITY = 0.025;
const COMMA_PROBABILITY = 0.07;
const SENTENCE_WORDS = { min: 5, max: 30 } as const;

class FrequencyWeightedWords {
  private readonly words: readonly string[];
  private readonly cumulative: Float64Array;

  constructor(exponent: number) {
    const frequencies = englishWordFrequencies();
    this.words = frequencies.map((entry) => entry.word);
    this.cumulative = new Float64Array(frequencies.length);
    let total = 0;
    frequencies.forEach((entry, index) => {
      total += entry.count ** exponent;
      this.cumulative[index] = total;
    });
  }

  sample(random: SeededRandom): string {
    const target = random.next() * this.cumulative[this.cumulative.length - 1]!;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return this.words[low]!;
  }
}

let sharedWords: FrequencyWeightedWords | undefined;

/** Draws passage lengths from the MS MARCO fit. */
function sampleWordCount(random: SeededRandom): number {
  const { mu, sigma, min, max } = MS_MARCO_WORD_COUNT;
  const words = Math.round(Math.exp(mu + sigma * random.normal()));
  return Math.min(max, Math.max(min, words));
}

function sampleNumber(random: SeededRandom): string {
  const kind = random.next();
  if (kind < 0.35) return String(1 + Math.floor(Math.exp(random.next() * Math.log(100))));
  if (kind < 0.6) return String(1900 + random.int(126));
  if (kind < 0.75) return `${random.int(100)}.${random.int(10)}`;
  if (kind < 0.88) return `${1 + random.int(99)}%`;
  return (1000 + random.int(99000)).toLocaleString('en-US');
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * English-like passages: word counts follow MS MARCO's distribution, words are drawn with their
 * spoken-English frequencies, grouped into capitalised sentences with commas, end punctuation and
 * occasional numbers. The same seed yields the same sequence of passages.
 */
export class PassageGenerator {
  private readonly random: SeededRandom;
  private readonly words: FrequencyWeightedWords;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
    sharedWords ??= new FrequencyWeightedWords(WORD_FREQUENCY_EXPONENT);
    this.words = sharedWords;
  }

  next(): string {
    const random = this.random;
    const wordCount = sampleWordCount(random);
    const output: string[] = [];
    let sentenceLeft = 0;
    while (output.length < wordCount) {
      if (sentenceLeft === 0) sentenceLeft = SENTENCE_WORDS.min + random.int(SENTENCE_WORDS.max - SENTENCE_WORDS.min + 1);
      const startsSentence = output.length === 0 || /[.?!]$/.test(output[output.length - 1]!);
      const word = random.next() < NUMBER_PROBABILITY ? sampleNumber(random) : this.words.sample(random);
      if (DROPPED_PIECES.has(word)) continue;
      const attaches = ATTACHED_SUFFIXES.get(word);
      if (attaches !== undefined) {
        const previous = output[output.length - 1];
        if (previous !== undefined && !startsSentence && !previous.endsWith(',') && attaches(previous)) {
          output[output.length - 1] = `${previous}'${word}`;
        }
        continue;
      }
      output.push(startsSentence ? capitalize(word) : word);
      sentenceLeft -= 1;
      const last = output.length - 1;
      if (sentenceLeft === 0 || output.length === wordCount) output[last] += this.endPunctuation();
      else if (random.next() < COMMA_PROBABILITY) output[last] += ',';
    }
    return output.join(' ');
  }

  private endPunctuation(): string {
    const draw = this.random.next();
    return draw < 0.92 ? '.' : draw < 0.97 ? '?' : '!';
  }
}
