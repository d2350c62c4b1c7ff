import type { Passage } from '@embedbench/loadtest/passages';

export type { Passage };

export const DEFAULT_PASSAGES_PATH = 'data/passages.jsonl';

const LINES_PER_CHUNK = 10_000;

/**
 * JSON Lines bytes for `passages`: `{"pid":"...","text":"..."}` per line, newline-terminated.
 * Encoded in chunks so that a large file never needs one string longer than V8 allows.
 */
export function encodePassages(passages: readonly Passage[]): Buffer {
  const chunks: Buffer[] = [];
  for (let start = 0; start < passages.length; start += LINES_PER_CHUNK) {
    const lines = passages.slice(start, start + LINES_PER_CHUNK).map(({ pid, text }) => `${JSON.stringify({ pid, text })}\n`);
    chunks.push(Buffer.from(lines.join(''), 'utf8'));
  }
  return Buffer.concat(chunks);
}
