import { PassageGenerator } from '../text/passages.js';
import type { Passage } from './format.js';

/** `count` English-like passages with MS MARCO's length distribution; pids "0", "1", ... */
export function syntheticPassages(count: number, seed: number): Passage[] {
  const generator = new PassageGenerator(seed);
  return Array.from({ length: count }, (_, index) => ({ pid: String(index), text: generator.next() }));
}
