import { BinaryHeap } from '../../data/binary-heap.js';

/** One distinct pre-token of the training corpus, split into initial symbols, with its frequency. */
export interface TrainingWord {
  readonly symbols: readonly string[];
  readonly weight: number;
}

export interface MergeTrainingOptions {
  readonly maxMerges: number;
  /** How two adjacent symbols combine into one (WordPiece drops the right side's "##"). */
  readonly join: (left: string, right: string) => string;
}

export interface Merge {
  readonly left: string;
  readonly right: string;
  readonly result: string;
}

/** Adjacent symbol pairs, interned to dense ids so counts and holders live in plain arrays. */
class PairTable {
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly counts: number[] = [];
  /** Words that contained the pair when it appeared (may repeat, may be stale). */
  readonly holders: number[][] = [];
  private readonly byLeft: Array<Map<number, number> | undefined> = [];

  id(left: number, right: number): number {
    let rights = this.byLeft[left];
    if (rights === undefined) this.byLeft[left] = rights = new Map();
    let id = rights.get(right);
    if (id === undefined) {
      id = this.counts.length;
      rights.set(right, id);
      this.left.push(left);
      this.right.push(right);
      this.counts.push(0);
      this.holders.push([]);
    }
    return id;
  }

  /** Pair order for ties: by left symbol id, then right symbol id (as Hugging Face's trainer). */
  precedes(a: number, b: number): boolean {
    return this.left[a]! < this.left[b]! || (this.left[a] === this.left[b] && this.right[a]! < this.right[b]!);
  }
}

/**
 * Byte-pair merge learning as in Hugging Face's BpeTrainer: repeatedly merge the most frequent
 * adjacent symbol pair (ties to the lower symbol ids), updating only the words that contain it.
 * A heap of (pair, count) entries, re-checked when popped, keeps each step proportional to the
 * words it touches.
 */
export function learnMerges(words: readonly TrainingWord[], options: MergeTrainingOptions): Merge[] {
  const symbolIds = new Map<string, number>();
  const symbolNames: string[] = [];
  const intern = (symbol: string): number => {
    let id = symbolIds.get(symbol);
    if (id === undefined) {
      id = symbolNames.length;
      symbolIds.set(symbol, id);
      symbolNames.push(symbol);
    }
    return id;
  };

  const sequences = words.map((word) => word.symbols.map(intern));
  const weights = words.map((word) => word.weight);
  const pairs = new PairTable();
  sequences.forEach((sequence, wordIndex) => {
    for (let i = 0; i + 1 < sequence.length; i++) {
      const pair = pairs.id(sequence[i]!, sequence[i + 1]!);
      pairs.counts[pair]! += weights[wordIndex]!;
      pairs.holders[pair]!.push(wordIndex);
    }
  });

  const heap = new BinaryHeap<{ pair: number; count: number }>(
    (a, b) => a.count > b.count || (a.count === b.count && pairs.precedes(a.pair, b.pair)),
  );
  pairs.counts.forEach((count, pair) => heap.push({ pair, count }));

  const merges: Merge[] = [];
  const visitedAt = new Int32Array(sequences.length).fill(-1);
  while (merges.length < options.maxMerges) {
    const top = heap.pop();
    if (top === undefined) break;
    const current = pairs.counts[top.pair]!;
    if (current <= 0) continue;
    if (current !== top.count) {
      heap.push({ pair: top.pair, count: current });
      continue;
    }
    const leftId = pairs.left[top.pair]!;
    const rightId = pairs.right[top.pair]!;
    const merge = { left: symbolNames[leftId]!, right: symbolNames[rightId]!, result: '' };
    merge.result = options.join(merge.left, merge.right);
    const mergedId = intern(merge.result);
    const step = merges.length;
    merges.push(merge);

    const grown = new Set<number>();
    for (const wordIndex of pairs.holders[top.pair]!) {
      if (visitedAt[wordIndex] === step) continue;
      visitedAt[wordIndex] = step;
      const sequence = sequences[wordIndex]!;
      if (!containsPair(sequence, leftId, rightId)) continue;
      const weight = weights[wordIndex]!;
      for (let i = 0; i + 1 < sequence.length; i++) pairs.counts[pairs.id(sequence[i]!, sequence[i + 1]!)]! -= weight;
      let length = 0;
      for (let i = 0; i < sequence.length; i++) {
        if (sequence[i] === leftId && sequence[i + 1] === rightId) {
          sequence[length++] = mergedId;
          i++;
        } else {
          sequence[length++] = sequence[i]!;
        }
      }
      sequence.length = length;
      for (let i = 0; i + 1 < length; i++) {
        const pair = pairs.id(sequence[i]!, sequence[i + 1]!);
        pairs.counts[pair]! += weight;
        if (sequence[i] === mergedId || sequence[i + 1] === mergedId) {
          pairs.holders[pair]!.push(wordIndex);
          grown.add(pair);
        }
      }
    }
    pairs.holders[top.pair] = [];
    for (const pair of grown) heap.push({ pair, count: pairs.counts[pair]! });
  }
  return merges;
}

function containsPair(sequence: readonly number[], left: number, right: number): boolean {
  for (let i = 0; i + 1 < sequence.length; i++) if (sequence[i] === left && sequence[i + 1] === right) return true;
  return false;
}
