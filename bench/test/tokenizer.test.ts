import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { writeTokenizerFiles, type TokenizerArch, type WrittenTokenizer } from '../src/model/tokenizer/index.js';
import { PassageGenerator } from '../src/text/passages.js';

env.allowRemoteModels = false;

interface LoadedTokenizers {
  written: WrittenTokenizer;
  dir: string;
  /** @huggingface/tokenizers, as the service core loads it. */
  core: Tokenizer;
  /** @huggingface/transformers' AutoTokenizer, as the feature-extraction pipeline loads it. */
  transformers: PreTrainedTokenizer;
}

async function loadBoth(arch: TokenizerArch, root: string): Promise<LoadedTokenizers> {
  const dir = join(root, arch);
  const written = await writeTokenizerFiles(arch, dir, { seed: 42 });
  const readJson = async (file: string) => JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
  const core = new Tokenizer(await readJson('tokenizer.json'), await readJson('tokenizer_config.json'));
  env.localModelPath = dirname(dir);
  const transformers = await AutoTokenizer.from_pretrained(basename(dir), { local_files_only: true });
  return { written, dir, core, transformers };
}

const SAMPLE_TEXTS = [
  'What is the average cost of a new roof?',
  'Photosynthesis converts carbon dioxide and water into glucose, releasing oxygen (O2) at 25°C.',
  "It's 3.5 miles away; don't worry -- we'll be there by 10:30!",
  'Café naïve résumé: Ünïcödé and 日本語 text.',
];

function transformersIds(tokenizer: PreTrainedTokenizer, text: string): number[] {
  return Array.from(tokenizer(text).input_ids.data as ArrayLike<bigint>, Number);
}

function tokensPerWord(encode: (text: string) => number, passages: readonly string[]): number {
  let words = 0;
  let tokens = 0;
  for (const passage of passages) {
    words += passage.split(/\s+/).filter(Boolean).length;
    tokens += encode(passage);
  }
  return tokens / words;
}

const generator = new PassageGenerator(2026);
const passages = Array.from({ length: 400 }, () => generator.next());

let root: string;
const loaded = new Map<TokenizerArch, LoadedTokenizers>();

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'embedbench-tokenizer-'));
  for (const arch of ['modernbert', 'bert'] as const) loaded.set(arch, await loadBoth(arch, root));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const expectedLayout = {
  modernbert: { vocabSize: 50368, ids: { unk: 50280, cls: 50281, sep: 50282, pad: 50283, mask: 50284 } },
  bert: { vocabSize: 30522, ids: { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 } },
} as const;

for (const arch of ['modernbert', 'bert'] as const) {
  describe(`${arch} tokenizer`, () => {
    test('has the real model’s vocabulary size and special token ids', async () => {
      const { written, dir, core, transformers } = loaded.get(arch)!;
      const expected = expectedLayout[arch];
      assert.equal(written.vocabSize, expected.vocabSize);
      assert.deepEqual(written.specialTokenIds, expected.ids);
      const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
      const ids = Object.values(json.model.vocab).sort((a, b) => a - b);
      assert.equal(ids.length, expected.vocabSize);
      assert.ok(ids.every((id, index) => id === index), 'vocabulary ids are 0..size-1 without gaps');
      for (const [role, id] of Object.entries(expected.ids)) {
        const content = `[${role.toUpperCase()}]`;
        assert.equal(core.token_to_id(content), id, `${content} in @huggingface/tokenizers`);
        assert.equal(transformers.convert_tokens_to_ids(content), id, `${content} in transformers.js`);
      }
      assert.equal(core.get_vocab().size, expected.vocabSize);
      assert.equal(transformers.get_vocab().size, expected.vocabSize);
      const special = JSON.parse(await readFile(join(dir, 'special_tokens_map.json'), 'utf8')) as Record<string, { content: string }>;
      assert.equal(special.cls_token?.content, '[CLS]');
      assert.equal(special.mask_token?.content, '[MASK]');
    });

    test('wraps text in [CLS] ... [SEP] identically in both libraries', () => {
      const { core, transformers, written } = loaded.get(arch)!;
      for (const text of SAMPLE_TEXTS) {
        const ids = core.encode(text).ids;
        assert.deepEqual(transformersIds(transformers, text), ids, text);
        assert.equal(ids[0], written.specialTokenIds.cls);
        assert.equal(ids.at(-1), written.specialTokenIds.sep);
        if (arch === 'modernbert') assert.ok(!ids.includes(written.specialTokenIds.unk), 'byte-level BPE never needs [UNK]');
      }
    });

    test('tokenizes MS MARCO-like passages to 1.2..1.5 tokens per word in both libraries', () => {
      const { core, transformers } = loaded.get(arch)!;
      const coreRatio = tokensPerWord((text) => core.encode(text, { add_special_tokens: false }).ids.length, passages);
      const transformersRatio = tokensPerWord(
        (text) => transformers.encode(text, { add_special_tokens: false }).length,
        passages,
      );
      assert.equal(coreRatio, transformersRatio);
      assert.ok(coreRatio >= 1.2 && coreRatio <= 1.5, `${coreRatio.toFixed(3)} tokens per word`);
    });
  });
}

test('byte-level BPE decodes back to the exact ASCII text', () => {
  const { core, transformers } = loaded.get('modernbert')!;
  const printable = Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)).join('');
  for (const text of [...SAMPLE_TEXTS.slice(0, 3), printable, 'Two  spaces,\ttabs and\nnew lines . , ! ?', ...passages.slice(0, 20)]) {
    const ids = core.encode(text, { add_special_tokens: false }).ids;
    assert.equal(core.decode(ids), text);
    assert.equal(transformers.decode(ids), text);
  }
});

test('byte-level BPE splits rare words into pieces and keeps common words whole', () => {
  const { core } = loaded.get('modernbert')!;
  assert.deepEqual(core.tokenize('The house'), ['The', 'Ġhouse']);
  assert.ok(core.tokenize(' zymurgy').length > 1);
});

test('bert lowercases, strips accents and marks continuation pieces with ##', () => {
  const { core, transformers } = loaded.get('bert')!;
  const ids = core.encode('Hello World, Café!', { add_special_tokens: false }).ids;
  assert.equal(core.decode(ids), 'hello world, cafe!');
  assert.equal(transformers.decode(ids), 'hello world, cafe!');
  const pieces = core.tokenize('zymurgy');
  assert.ok(pieces.length > 1 && pieces.slice(1).every((piece: string) => piece.startsWith('##')), pieces.join(' '));
});
