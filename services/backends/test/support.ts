import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendOptions } from '@embedbench/core/backend';
import { TextTokenizer } from '@embedbench/core/tokenization';
import { pino } from 'pino';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export type TestArch = 'modernbert' | 'bert';

/** The tiny synthetic models the test command generates before the suite runs. */
export function testModelDir(arch: TestArch): string {
  const dir = join(repoRoot, '.cache', 'test-models', `${arch}-tiny`);
  assert.ok(existsSync(dir), `${dir} is missing: run the test command (it synthesizes the test models first)`);
  return dir;
}

export interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function capturingLogger(): { logger: BackendOptions['logger']; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void entries.push(JSON.parse(line) as LogEntry) });
  return { logger, entries };
}

export function backendOptions(modelDir: string, overrides: Partial<BackendOptions> = {}): BackendOptions {
  return {
    modelDir,
    modelId: 'test-model',
    dtype: 'auto',
    device: 'cpu',
    executionProviders: ['cpu'],
    intraOpThreads: 1,
    interOpThreads: 1,
    workers: 1,
    logger: capturingLogger().logger,
    ...overrides,
  };
}

const tokenizers = new Map<string, Promise<TextTokenizer>>();

/** Token ids as the core's queue hands them to a backend. */
export async function tokenize(modelDir: string, texts: readonly string[], maxInputTokens?: number): Promise<Int32Array[]> {
  const key = `${modelDir}|${maxInputTokens}`;
  if (!tokenizers.has(key)) tokenizers.set(key, TextTokenizer.load(modelDir, { maxInputTokens }));
  return (await tokenizers.get(key)!).encode(texts, true).inputIds;
}

/** A throwaway copy of a model directory, for tests that break files. */
export async function copyModel(modelDir: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'embedbench-model-'));
  const dir = join(parent, 'model');
  await cp(modelDir, dir, { recursive: true });
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

/** Finite values, the model's width, and a non-zero norm (so the core can normalize the row). */
export function assertEmbeddingRow(row: Float32Array | undefined, hiddenSize: number): void {
  assert.ok(row, 'missing embedding row');
  assert.equal(row.length, hiddenSize);
  assert.ok(row.every(Number.isFinite), 'embedding has non-finite values');
  assert.ok(Math.hypot(...row) > 1e-6, 'embedding has zero norm');
}

/** Varied lengths and scripts, from one character to well past a 32-token limit. */
export const VARIED_TEXTS: readonly string[] = [
  'a',
  'Hello world.',
  'What is the capital of France?',
  'The quick brown fox jumps over the lazy dog.',
  'Embeddings map text to vectors; similar texts land close together.',
  'Numbers 12345 and 3.14159 and dates like 2024-01-31 should tokenize.',
  'ÜNÏCÖDÉ: café, naïve, résumé, façade — and “quotes”.',
  '日本語のテキストも含めます。',
  'emoji 🙂🚀 and symbols #@$%^&*()',
  'short',
  'A longer passage about the history of the printing press, which changed how knowledge spread across Europe in the fifteenth century and beyond.',
  'MS MARCO passages are usually a few sentences long. They describe facts, give definitions, or answer a question someone typed into a search engine.',
  'x '.repeat(80).trim(),
  'tokenization edge-cases: don\'t, won\'t, it\'s, e-mail, U.S.A., state-of-the-art',
  '    leading and trailing spaces    ',
  'UPPERCASE TEXT SHOULD ALSO WORK',
  'line one\nline two\ttabbed',
  'The mitochondria is the powerhouse of the cell. '.repeat(6).trim(),
  'Q: how long do cats live? A: indoor cats often live 12 to 18 years.',
  'z',
];
