import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { modelDims, syntheticConfigJson, type Architecture } from '../src/model/config.js';
import { float, pythonFloatRepr, stringifyPythonJson } from '../src/model/python-json.js';
import type { SpecialTokenIds } from '../src/model/tokenizer/shared.js';

/**
 * Every numeric field of the Hub's config.json, spelled exactly as the file spells it (Python's
 * json.dumps: floats always carry a point or an exponent).
 * https://huggingface.co/answerdotai/ModernBERT-base/blob/main/config.json
 * (the same values and spellings as ModernBertConfig's defaults in the transformers docs,
 * https://huggingface.co/docs/transformers/v4.57.0/en/model_doc/modernbert)
 */
const HUB_MODERNBERT_BASE: Record<string, string> = {
  attention_dropout: '0.0',
  bos_token_id: '50281',
  classifier_dropout: '0.0',
  cls_token_id: '50281',
  embedding_dropout: '0.0',
  eos_token_id: '50282',
  global_attn_every_n_layers: '3',
  global_rope_theta: '160000.0',
  hidden_size: '768',
  initializer_cutoff_factor: '2.0',
  initializer_range: '0.02',
  intermediate_size: '1152',
  layer_norm_eps: '1e-05',
  local_attention: '128',
  local_rope_theta: '10000.0',
  max_position_embeddings: '8192',
  mlp_dropout: '0.0',
  norm_eps: '1e-05',
  num_attention_heads: '12',
  num_hidden_layers: '22',
  pad_token_id: '50283',
  sep_token_id: '50282',
  sparse_pred_ignore_index: '-100',
  vocab_size: '50368',
};

/** https://huggingface.co/google-bert/bert-base-uncased/blob/main/config.json */
const HUB_BERT_BASE: Record<string, string> = {
  attention_probs_dropout_prob: '0.1',
  hidden_dropout_prob: '0.1',
  hidden_size: '768',
  initializer_range: '0.02',
  intermediate_size: '3072',
  layer_norm_eps: '1e-12',
  max_position_embeddings: '512',
  num_attention_heads: '12',
  num_hidden_layers: '12',
  pad_token_id: '0',
  type_vocab_size: '2',
  vocab_size: '30522',
};

const HUB: Record<Architecture, Record<string, string>> = { modernbert: HUB_MODERNBERT_BASE, bert: HUB_BERT_BASE };
const testModelFile = (arch: Architecture, file: string) => fileURLToPath(new URL(`../../../.cache/test-models/${arch}-tiny/${file}`, import.meta.url));

/** The literal JSON spelling of every top-level numeric field (the writer puts one key per line). */
function numericSpellings(json: string): Record<string, string> {
  return Object.fromEntries([...json.matchAll(/^ {2}"(\w+)": (-?[\d.eE+-]+),?$/gm)].map((match) => [match[1]!, match[2]!]));
}

const isFloatSpelling = (literal: string) => /[.eE]/.test(literal);

/** The special token ids of the synthesized tokenizer (the same for every size), from tokenizer_config.json. */
async function specialTokenIds(arch: Architecture): Promise<SpecialTokenIds> {
  const config = JSON.parse(await readFile(testModelFile(arch, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown> & {
    added_tokens_decoder: Record<string, { content: string }>;
  };
  const idOf = (role: keyof SpecialTokenIds): number => {
    const entry = Object.entries(config.added_tokens_decoder).find(([, token]) => token.content === config[`${role}_token`]);
    assert.ok(entry, `no ${role} token in ${arch}'s tokenizer_config.json`);
    return Number(entry[0]);
  };
  return { pad: idOf('pad'), unk: idOf('unk'), cls: idOf('cls'), sep: idOf('sep'), mask: idOf('mask') };
}

describe('config.json spells numbers as the Hub does', () => {
  for (const arch of ['modernbert', 'bert'] as const) {
    it(`${arch}-base: every numeric field has the Hub file's value and spelling`, async () => {
      const json = syntheticConfigJson(modelDims(arch, 'base'), await specialTokenIds(arch), { arch, size: 'base', seed: 42 });
      const written = numericSpellings(json);
      assert.ok(Object.keys(written).length >= 10, json);
      for (const [key, literal] of Object.entries(written)) {
        assert.ok(key in HUB[arch], `${key} is not a numeric field of the Hub's ${arch} config`);
        assert.equal(literal, HUB[arch][key], key);
      }
    });

    it(`${arch}-tiny as written by model synth: floats as floats, integers as integers`, async () => {
      const written = numericSpellings(await readFile(testModelFile(arch, 'config.json'), 'utf8'));
      assert.ok(Object.keys(written).length >= 10);
      for (const [key, literal] of Object.entries(written)) {
        assert.ok(key in HUB[arch], `${key} is not a numeric field of the Hub's ${arch} config`);
        assert.equal(isFloatSpelling(literal), isFloatSpelling(HUB[arch][key]!), `${key}: ${literal}`);
      }
    });
  }
});

describe("Python's float spelling", () => {
  it('matches repr() for positional and scientific ranges', () => {
    const cases: Array<[number, string]> = [
      [2, '2.0'],
      [0, '0.0'],
      [-0.5, '-0.5'],
      [0.02, '0.02'],
      [0.1, '0.1'],
      [160000, '160000.0'],
      [1e15, '1000000000000000.0'],
      [1e16, '1e+16'],
      [1.5e20, '1.5e+20'],
      [0.0001, '0.0001'],
      [1e-5, '1e-05'],
      [-1e-5, '-1e-05'],
      [1e-12, '1e-12'],
      [2.5e-7, '2.5e-07'],
      [1 / 3, '0.3333333333333333'],
    ];
    for (const [value, expected] of cases) assert.equal(pythonFloatRepr(value), expected, String(value));
  });

  it('writes the same JSON as JSON.stringify apart from the floats', () => {
    const value = { a: [1, 'x', true, null, { b: float(3) }], c: {}, d: [], e: 'q"uote', f: undefined };
    const text = stringifyPythonJson(value);
    assert.equal(text, JSON.stringify({ ...value, a: [1, 'x', true, null, { b: 3 }] }, null, 2).replace('"b": 3', '"b": 3.0'));
    assert.throws(() => float(Number.NaN), /finite/);
  });
});
