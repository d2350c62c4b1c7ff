import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { EmbedError } from './errors.js';

/** Used when neither tokenizer_config.json nor config.json states a usable maximum. */
const FALLBACK_MAX_INPUT_TOKENS = 512;
/** Tokens past the maximum that the character bound leaves room for, so the word cut at its end is not kept. */
const PREFIX_MARGIN_TOKENS = 16;
/** tokenizer_config.json uses a huge sentinel (1e30) for "no limit". */
const UNSET_MODEL_MAX_LENGTH = 1_000_000;

export interface TokenizedTexts {
  /** Special tokens included, truncated to the maximum input length. */
  readonly inputIds: Int32Array[];
  /** Tokens per row after truncation. */
  readonly tokenCount: number;
  /** Indices of rows that were cut to the maximum input length. */
  readonly truncatedRows: number[];
}

/**
 * Loads a model directory's tokenizer and turns texts into truncated token-id rows. The tokenizer
 * only ever sees a text's first `maxInputChars` characters, so a 2 MB text costs no more event-loop
 * time than a text of that bound.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Maximum tokens per row, special tokens included. */
    readonly maxInputTokens: number,
    /** Longest text (UTF-16 code units) handed to the tokenizer; longer ones are cut first. */
    readonly maxInputChars: number,
    /** Special tokens the post-processor appends after the text (e.g. [SEP]); kept on truncation. */
    private readonly trailingSpecialTokens: number,
  ) {}

  static async load(modelDir: string, options: { maxInputTokens?: number | undefined } = {}): Promise<TextTokenizer> {
    const tokenizerJson = await readJson(join(modelDir, 'tokenizer.json'));
    const tokenizerConfig = await readJson(join(modelDir, 'tokenizer_config.json'));
    const modelConfig = await readJson(join(modelDir, 'config.json')).catch(() => ({}));
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const modelMax = modelMaxInputTokens(tokenizerConfig, modelConfig);
    const maxInputTokens = Math.min(modelMax, options.maxInputTokens ?? modelMax);
    const maxInputChars = (maxInputTokens + PREFIX_MARGIN_TOKENS) * longestTokenChars(tokenizerJson);
    return new TextTokenizer(tokenizer, maxInputTokens, maxInputChars, countTrailingSpecialTokens(tokenizer));
  }

  /**
   * Encodes every text. Rows longer than the maximum (in tokens, or in characters) are cut
   * (keeping the closing special tokens), or rejected with a 'validation' error when `truncate` is
   * false.
   */
  encode(texts: readonly string[], truncate: boolean): TokenizedTexts {
    const inputIds: Int32Array[] = [];
    const truncatedRows: number[] = [];
    let tokenCount = 0;
    texts.forEach((text, row) => {
      const cutByChars = text.length > this.maxInputChars;
      let ids: number[] = this.tokenizer.encode(cutByChars ? text.slice(0, this.maxInputChars) : text, {
        add_special_tokens: true,
      }).ids;
      const overTokens = ids.length > this.maxInputTokens;
      if ((overTokens || cutByChars) && !truncate) {
        throw new EmbedError(
          'validation',
          overTokens
            ? `input ${row} is longer than the maximum of ${this.maxInputTokens} tokens; send truncate: true or a shorter text`
            : `input ${row} is longer than the maximum of ${this.maxInputChars} characters; send truncate: true or a shorter text`,
        );
      }
      if (overTokens) {
        const kept = this.maxInputTokens - this.trailingSpecialTokens;
        ids = [...ids.slice(0, kept), ...ids.slice(ids.length - this.trailingSpecialTokens)];
      }
      if (overTokens || cutByChars) truncatedRows.push(row);
      tokenCount += ids.length;
      inputIds.push(Int32Array.from(ids));
    });
    return { inputIds, tokenCount, truncatedRows };
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function modelMaxInputTokens(tokenizerConfig: Record<string, unknown>, modelConfig: Record<string, unknown>): number {
  const limits = [tokenizerConfig['model_max_length'], modelConfig['max_position_embeddings']].filter(
    (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0 && value < UNSET_MODEL_MAX_LENGTH,
  );
  return limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_INPUT_TOKENS;
}

/** Compares one token's encoding with and without special tokens to see how many come after it. */
function countTrailingSpecialTokens(tokenizer: Tokenizer): number {
  const plain: number[] = tokenizer.encode('a', { add_special_tokens: false }).ids;
  const withSpecial: number[] = tokenizer.encode('a', { add_special_tokens: true }).ids;
  const start = withSpecial.findIndex((_, i) => plain.every((id, j) => withSpecial[i + j] === id));
  return start < 0 ? 0 : withSpecial.length - start - plain.length;
}

/**
 * The most text (UTF-16 code units) one token can stand for: its longest vocabulary entry or added
 * token, without the WordPiece continuation prefix. Byte-level BPE entries spell each byte as one
 * character and SentencePiece spells a space as one, so an entry is never shorter than the text it
 * matches. Hence the first (maximum + margin) x this many characters give at least as many tokens
 * as are kept, unless the normalizer drops characters (BERT drops whitespace and control
 * characters) or folds a long run into one token (a word over WordPiece's
 * max_input_chars_per_word becomes one [UNK]); such a text is embedded from that prefix.
 */
function longestTokenChars(tokenizerJson: Record<string, unknown>): number {
  const model = (tokenizerJson['model'] ?? {}) as { vocab?: unknown; continuing_subword_prefix?: unknown };
  const vocab = model.vocab;
  const entries: string[] = Array.isArray(vocab)
    ? vocab.map((entry: unknown) => (Array.isArray(entry) ? String(entry[0]) : String(entry)))
    : typeof vocab === 'object' && vocab !== null
      ? Object.keys(vocab)
      : [];
  const added = Array.isArray(tokenizerJson['added_tokens'])
    ? (tokenizerJson['added_tokens'] as Array<{ content?: unknown }>).map((token) => String(token.content ?? ''))
    : [];
  const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '';
  let longest = 1;
  for (const entry of [...entries, ...added]) {
    const length = prefix !== '' && entry.startsWith(prefix) ? entry.length - prefix.length : entry.length;
    if (length > longest) longest = length;
  }
  return longest;
}
