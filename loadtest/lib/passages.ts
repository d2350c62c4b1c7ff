/**
 * The prepared passages format: JSON Lines, one `{"pid": string, "text": string}` per line.
 * Blank lines are ignored; anything else that is not such an object is an error naming the line.
 */
export interface Passage {
  pid: string;
  text: string;
}

export function parsePassagesJsonl(content: string, source: string): Passage[] {
  const passages: Passage[] = [];
  const lines = content.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`${source}:${index + 1}: not valid JSON`);
    }
    if (!isPassage(parsed)) throw new Error(`${source}:${index + 1}: expected {"pid": string, "text": string}`);
    passages.push({ pid: parsed.pid, text: parsed.text });
  }
  if (passages.length === 0) throw new Error(`${source}: no passages (expected JSON Lines of {"pid","text"})`);
  return passages;
}

function isPassage(value: unknown): value is Passage {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.pid === 'string' && typeof record.text === 'string' && record.text.length > 0;
}

/**
 * The texts of request number `requestIndex` (0-based, counted across all workers): consecutive
 * passages, wrapping around the dataset, so every driver sends the same batches in the same order.
 */
export function batchForRequest(passages: readonly Passage[], batchSize: number, requestIndex: number): string[] {
  const texts: string[] = [];
  const start = (requestIndex * batchSize) % passages.length;
  for (let offset = 0; offset < batchSize; offset++) {
    texts.push((passages[(start + offset) % passages.length] as Passage).text);
  }
  return texts;
}
