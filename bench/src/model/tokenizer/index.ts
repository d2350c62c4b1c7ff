import { join } from 'node:path';
import { writeJsonAtomic } from '../../fs/atomic.js';
import { buildBertTokenizer } from './bert.js';
import { trainingCorpus } from './corpus.js';
import { buildModernBertTokenizer } from './modernbert.js';
import { addedTokens, clsSepTemplate, specialTokenIds, type BuiltTokenizer, type SpecialTokenIds } from './shared.js';

export type TokenizerArch = 'bert' | 'modernbert';

export interface WrittenTokenizer {
  vocabSize: number;
  specialTokenIds: SpecialTokenIds;
}

const BUILDERS: Record<TokenizerArch, (corpus: ReturnType<typeof trainingCorpus>) => BuiltTokenizer> = {
  bert: buildBertTokenizer,
  modernbert: buildModernBertTokenizer,
};

/**
 * Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json for `arch` into
 * `outDir`: WordPiece like bert-base-uncased or byte-level BPE like ModernBERT-base, learned from
 * English word frequencies so that text tokenizes to realistic lengths. Same seed, same bytes.
 */
export async function writeTokenizerFiles(
  arch: TokenizerArch,
  outDir: string,
  options: { seed: number },
): Promise<WrittenTokenizer> {
  const built = BUILDERS[arch](trainingCorpus(options.seed));
  const tokenFields = Object.fromEntries(built.specialTokens.map((token) => [`${token.role}_token`, token.content]));
  const addedTokensDecoder = Object.fromEntries(
    built.specialTokens.map((token) => [
      String(token.id),
      { content: token.content, lstrip: token.lstrip, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  );
  const specialTokensMap = Object.fromEntries(
    built.specialTokens.map((token) => [
      `${token.role}_token`,
      { content: token.content, lstrip: token.lstrip, normalized: false, rstrip: false, single_word: false },
    ]),
  );
  await writeJsonAtomic(join(outDir, 'tokenizer.json'), {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(built.specialTokens),
    normalizer: built.normalizer,
    pre_tokenizer: built.preTokenizer,
    post_processor: clsSepTemplate(built.specialTokens, built.secondSequenceTypeId),
    decoder: built.decoder,
    model: built.model,
  });
  await writeJsonAtomic(join(outDir, 'tokenizer_config.json'), {
    added_tokens_decoder: addedTokensDecoder,
    ...tokenFields,
    ...built.config,
  });
  await writeJsonAtomic(join(outDir, 'special_tokens_map.json'), specialTokensMap);
  return { vocabSize: built.vocabSize, specialTokenIds: specialTokenIds(built.specialTokens) };
}
