import { CONTRACTION_PIECES } from '../../text/word-frequencies.js';
import type { WeightedText } from './corpus.js';
import { learnMerges } from './merge-trainer.js';
import { VocabularyBuilder, bracketedSpecialTokens, type BuiltTokenizer } from './shared.js';

const VOCAB_SIZE = 30522;
/** bert-base-uncased: [PAD]=0, [unused0..98], [UNK]=100 ... [MASK]=103, [unused99..993], then pieces. */
const FIRST_PIECE_ID = 999;
/** Tuned so that English-like passages come out at about 1.3 tokens per word (asserted in the tokenizer tests). */
const MERGE_BUDGET = 20000;
const CONTINUATION = '##';

const SPECIAL_TOKENS = bracketedSpecialTokens({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 }, { maskLstrip: false });

/**
 * Characters that keep their own piece after BertNormalizer (lowercase, accents stripped): ASCII,
 * the accent-free Latin-1 letters and common typographic punctuation. Others become [UNK].
 */
const CHARACTERS: readonly string[] = [
  ...Array.from({ length: 94 }, (_, index) => String.fromCharCode(33 + index)).filter((c) => c === c.toLowerCase()),
  ...'¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷ßæðøþđħıłŋœŧ',
  ...'–—‘’‚“”„†‡•…‰′″‹›€™',
];

/** Word pieces: the first character plain, the rest with the "##" continuation prefix. */
function wordPieceSymbols(word: string): string[] {
  return [...word].map((character, index) => (index === 0 ? character : CONTINUATION + character));
}

/** WordPiece laid out like bert-base-uncased (BertNormalizer lowercase, BertPreTokenizer, "##"). */
export function buildBertTokenizer(corpus: readonly WeightedText[]): BuiltTokenizer {
  const weights = new Map<string, number>();
  for (const { text, weight } of corpus) {
    if (CONTRACTION_PIECES.has(text)) continue;
    const lowercase = text.toLowerCase();
    weights.set(lowercase, (weights.get(lowercase) ?? 0) + weight);
  }
  const words = [...weights].map(([text, weight]) => ({ symbols: wordPieceSymbols(text), weight }));
  const merges = learnMerges(words, {
    maxMerges: MERGE_BUDGET,
    join: (left, right) => left + right.slice(CONTINUATION.length),
  });

  const vocabulary = new VocabularyBuilder();
  for (const token of SPECIAL_TOKENS) {
    vocabulary.fillTo(token.id);
    vocabulary.placeAt(token.content, token.id);
  }
  vocabulary.fillTo(FIRST_PIECE_ID);
  for (const character of CHARACTERS) vocabulary.add(character);
  for (const character of CHARACTERS) vocabulary.add(CONTINUATION + character);
  for (const merge of merges) vocabulary.add(merge.result);
  vocabulary.fillTo(VOCAB_SIZE);

  return {
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    preTokenizer: { type: 'BertPreTokenizer' },
    decoder: { type: 'WordPiece', prefix: CONTINUATION, cleanup: true },
    secondSequenceTypeId: 1,
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: CONTINUATION,
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.ids),
    },
    specialTokens: SPECIAL_TOKENS,
    vocabSize: vocabulary.size,
    config: {
      clean_up_tokenization_spaces: true,
      do_lower_case: true,
      model_max_length: 512,
      strip_accents: null,
      tokenize_chinese_chars: true,
      tokenizer_class: 'BertTokenizer',
    },
  };
}
