import { CONTRACTION_PIECES } from '../../text/word-frequencies.js';
import { BYTE_LEVEL_ALPHABET, byteLevelSymbols } from './byte-level.js';
import { WEIGHT_SCALE, type WeightedText } from './corpus.js';
import { learnMerges } from './merge-trainer.js';
import { VocabularyBuilder, bracketedSpecialTokens, type BuiltTokenizer } from './shared.js';

/** ModernBERT-base: 50,280 real tokens, then [UNK] [CLS] [SEP] [PAD] [MASK]; embedding rows to 50,368. */
const REAL_TOKENS = 50280;
const VOCAB_SIZE = 50368;
/** Tuned so that English-like passages come out at about 1.3 tokens per word (asserted in the tokenizer tests). */
const MERGE_BUDGET = 32000;

const SPECIAL_TOKENS = bracketedSpecialTokens(
  { unk: 50280, cls: 50281, sep: 50282, pad: 50283, mask: 50284 },
  { maskLstrip: true },
);

/** How a listed word's occurrences split between its casings (SUBTLEX keeps one casing per word). */
const CASE_SHARES = { asListed: 0.6, lowercase: 0.25, capitalized: 0.15 } as const;
/** Share of occurrences that open a text, so carry no leading space ("Ġ"). */
const TEXT_START_SHARE = 0.05;
/** Numerals often follow "$", "," or "." ("$5,500", "3.5") and then carry no leading space either. */
const NUMERAL_START_SHARE = 0.5;
/**
 * Derived forms (other casings, text-initial) rarer than one corpus occurrence are left out: they
 * barely move pair counts but would triple the words the trainer has to track.
 */
const MIN_DERIVED_WEIGHT = WEIGHT_SCALE;

/**
 * Multi-byte punctuation pre-tokens of web text (the GPT-2 regex keeps a leading space on them),
 * each given this share of the corpus so that they become single tokens as in real vocabularies.
 */
const PUNCTUATION_PRETOKENS = [' (', ' "', ' $', ' -', ' &', ' /', ').', '),', '."', '",', '...', '–', '—', '‘', '’', '“', '”', '°'];
const PUNCTUATION_SHARE = 0.0005;

function addWeight(weights: Map<string, number>, text: string, weight: number): void {
  if (weight > 0) weights.set(text, (weights.get(text) ?? 0) + weight);
}

/** Pre-tokens as ModernBERT's ByteLevel pre-tokenizer (GPT-2 regex, no prefix space) emits them. */
function pretokenWeights(corpus: readonly WeightedText[]): Map<string, number> {
  const weights = new Map<string, number>();
  const total = corpus.reduce((sum, entry) => sum + entry.weight, 0);
  for (const pretoken of PUNCTUATION_PRETOKENS) addWeight(weights, pretoken, Math.round(total * PUNCTUATION_SHARE));
  for (const { text, weight } of corpus) {
    if (CONTRACTION_PIECES.has(text)) {
      addWeight(weights, `'${text}`, weight);
      continue;
    }
    const casings = new Map<string, number>();
    addWeight(casings, text, Math.round(weight * CASE_SHARES.asListed));
    addWeight(casings, text.toLowerCase(), Math.round(weight * CASE_SHARES.lowercase));
    addWeight(casings, text.charAt(0).toUpperCase() + text.slice(1), Math.round(weight * CASE_SHARES.capitalized));
    for (const [surface, share] of casings) {
      if (surface !== text && share < MIN_DERIVED_WEIGHT) continue;
      const startShare = /^[0-9]+$/.test(surface) ? NUMERAL_START_SHARE : TEXT_START_SHARE;
      const atStart = Math.round(share * startShare);
      const startWeight = atStart >= MIN_DERIVED_WEIGHT ? atStart : 0;
      addWeight(weights, surface, startWeight);
      addWeight(weights, ` ${surface}`, share - startWeight);
    }
  }
  return weights;
}

/** Byte-level BPE laid out like ModernBERT-base's tokenizer (NFC, ByteLevel, "[CLS] $A [SEP]"). */
export function buildModernBertTokenizer(corpus: readonly WeightedText[]): BuiltTokenizer {
  const words = [...pretokenWeights(corpus)].map(([text, weight]) => ({ symbols: byteLevelSymbols(text), weight }));
  const merges = learnMerges(words, { maxMerges: MERGE_BUDGET, join: (left, right) => left + right });

  const vocabulary = new VocabularyBuilder();
  BYTE_LEVEL_ALPHABET.forEach((symbol) => vocabulary.add(symbol));
  for (const merge of merges) vocabulary.add(merge.result);
  vocabulary.fillTo(REAL_TOKENS);
  for (const token of SPECIAL_TOKENS) vocabulary.placeAt(token.content, token.id);
  vocabulary.fillTo(VOCAB_SIZE);

  return {
    normalizer: { type: 'NFC' },
    preTokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    secondSequenceTypeId: 0,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocabulary.ids),
      merges: merges.map((merge) => `${merge.left} ${merge.right}`),
    },
    specialTokens: SPECIAL_TOKENS,
    vocabSize: vocabulary.size,
    config: {
      clean_up_tokenization_spaces: false,
      model_input_names: ['input_ids', 'attention_mask'],
      model_max_length: 8192,
      tokenizer_class: 'PreTrainedTokenizerFast',
    },
  };
}
