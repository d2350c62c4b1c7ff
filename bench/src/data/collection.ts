import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { BinaryHeap } from './binary-heap.js';
import type { Passage } from './format.js';

export interface CollectionSample {
  /** The sampled passages in the order they appear in the file. */
  passages: Passage[];
  lines: number;
  malformedLines: number;
  /** Repeats of a passage text that was a sampling candidate; other repeats never reach the sample. */
  duplicatesDropped: number;
}

interface Candidate extends Passage {
  priority: number;
  line: number;
}

/**
 * Samples `count` distinct passages from an MS MARCO collection.tsv (`pid<TAB>passage` per line) in
 * one streaming pass. Every distinct text gets a seeded hash as its priority and the `count` lowest
 * priorities are kept (bottom-k reservoir sampling): a uniform sample of distinct passages, the same
 * for the same seed and file, holding only the sample in memory. Duplicates share a priority, so a
 * repeat of a kept text is recognised and dropped. Lines that are not `pid<TAB>text` are counted and
 * skipped.
 */
export async function sampleCollection(path: string, options: { count: number; seed: number }): Promise<CollectionSample> {
  const kept = new BinaryHeap<Candidate>(evictsFirst);
  const keptTexts = new Map<string, Candidate>();
  let lines = 0;
  let malformedLines = 0;
  let duplicatesDropped = 0;

  const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of input) {
    lines += 1;
    const fields = line.split('\t');
    const pid = fields[0]?.trim() ?? '';
    const text = (fields[1] ?? '').replace(/\s+/g, ' ').trim();
    if (fields.length !== 2 || pid === '' || text === '') {
      malformedLines += 1;
      continue;
    }
    const priority = seededHash(text, options.seed);
    const worst = kept.peek();
    if (kept.size >= options.count && worst !== undefined && priority > worst.priority) continue;
    if (keptTexts.has(text)) {
      duplicatesDropped += 1;
      continue;
    }
    const candidate = { pid, text, priority, line: lines };
    kept.push(candidate);
    keptTexts.set(text, candidate);
    if (kept.size > options.count) keptTexts.delete(kept.pop()!.text);
  }
  const passages = kept
    .drain()
    .sort((a, b) => a.line - b.line)
    .map(({ pid, text }) => ({ pid, text }));
  return { passages, lines, malformedLines, duplicatesDropped };
}

/** cyrb53: a fast 53-bit string hash (public domain, by bryc), seeded. */
function seededHash(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The candidate to evict first: the highest priority, then the later line. */
function evictsFirst(a: Candidate, b: Candidate): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.line > b.line);
}
