export type SpecialRole = 'pad' | 'unk' | 'cls' | 'sep' | 'mask';
export type SpecialTokenIds = Record<SpecialRole, number>;

export interface SpecialToken {
  readonly role: SpecialRole;
  readonly content: string;
  readonly id: number;
  /** Swallows the whitespace before it, as ModernBERT's [MASK] does. */
  readonly lstrip: boolean;
}

/** Everything needed to write one tokenizer folder: tokenizer.json's pipeline stages and metadata. */
export interface BuiltTokenizer {
  readonly normalizer: object;
  readonly preTokenizer: object;
  readonly decoder: object;
  readonly model: object;
  /** token_type_id of the second sequence of a pair (BERT: 1; ModernBERT has no token types: 0). */
  readonly secondSequenceTypeId: 0 | 1;
  readonly specialTokens: readonly SpecialToken[];
  readonly vocabSize: number;
  /** Family-specific tokenizer_config.json entries (class, lowercasing, maximum length). */
  readonly config: Record<string, unknown>;
}

/**
 * Assigns ids in insertion order. Rows the learned vocabulary does not reach are filled with
 * "[unusedN]" tokens, as bert-base-uncased does: no merge produces them, so text never maps there.
 */
export class VocabularyBuilder {
  readonly ids = new Map<string, number>();
  private unusedCount = 0;

  get size(): number {
    return this.ids.size;
  }

  add(token: string): void {
    if (!this.ids.has(token)) this.ids.set(token, this.ids.size);
  }

  placeAt(token: string, id: number): void {
    if (this.ids.size !== id || this.ids.has(token)) throw new Error(`cannot place ${token} at id ${id}`);
    this.add(token);
  }

  fillTo(size: number): void {
    if (this.ids.size > size) throw new RangeError(`vocabulary has ${this.ids.size} tokens, over the ${size} allowed`);
    while (this.ids.size < size) this.add(`[unused${this.unusedCount++}]`);
  }
}

/** The five BERT-style special tokens ("[PAD]", "[UNK]", ...) at the given ids, in id order. */
export function bracketedSpecialTokens(ids: SpecialTokenIds, options: { maskLstrip: boolean }): SpecialToken[] {
  return (Object.entries(ids) as Array<[SpecialRole, number]>)
    .map(([role, id]) => ({ role, content: `[${role.toUpperCase()}]`, id, lstrip: role === 'mask' && options.maskLstrip }))
    .sort((a, b) => a.id - b.id);
}

export function specialTokenIds(specials: readonly SpecialToken[]): SpecialTokenIds {
  const ids = Object.fromEntries(specials.map((token) => [token.role, token.id]));
  return { pad: ids.pad!, unk: ids.unk!, cls: ids.cls!, sep: ids.sep!, mask: ids.mask! };
}

/** tokenizer.json's added_tokens entries. */
export function addedTokens(specials: readonly SpecialToken[]): object[] {
  return specials.map((token) => ({
    id: token.id,
    content: token.content,
    single_word: false,
    lstrip: token.lstrip,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** A TemplateProcessing post-processor: "[CLS] $A [SEP]" and "[CLS] $A [SEP] $B [SEP]". */
export function clsSepTemplate(specials: readonly SpecialToken[], secondTypeId: 0 | 1): object {
  const byRole = (role: SpecialRole) => specials.find((token) => token.role === role)!;
  const [cls, sep] = [byRole('cls'), byRole('sep')];
  const special = (token: SpecialToken, typeId: number) => ({ SpecialToken: { id: token.content, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    type: 'TemplateProcessing',
    single: [special(cls, 0), sequence('A', 0), special(sep, 0)],
    pair: [special(cls, 0), sequence('A', 0), special(sep, 0), sequence('B', secondTypeId), special(sep, secondTypeId)],
    special_tokens: Object.fromEntries(
      [cls, sep].map((token) => [token.content, { id: token.content, ids: [token.id], tokens: [token.content] }]),
    ),
  };
}
