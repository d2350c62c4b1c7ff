import { BERT_TYPE_VOCAB_SIZE, type ModelDims } from '../config.js';
import { INPUT_IDS, TOKEN_TYPE_IDS, keyAllowedMask, positionRange } from './encoder-inputs.js';
import type { EncoderLayers } from './layers.js';
import type { WeightSpec } from './weights.js';

/** BertModel's parameters under their Hugging Face names; Linear weights are stored [in, out]. */
export function bertWeightSpecs(d: ModelDims): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: 'embeddings.word_embeddings.weight', dims: [d.vocabSize, d.hidden], init: 'normal' },
    { name: 'embeddings.position_embeddings.weight', dims: [d.maxPositions, d.hidden], init: 'normal' },
    { name: 'embeddings.token_type_embeddings.weight', dims: [BERT_TYPE_VOCAB_SIZE, d.hidden], init: 'normal' },
    ...layerNormSpecs('embeddings.LayerNorm', d.hidden),
  ];
  for (let i = 0; i < d.layers; i++) {
    const prefix = `encoder.layer.${i}`;
    for (const projection of ['query', 'key', 'value']) specs.push(...linearSpecs(`${prefix}.attention.self.${projection}`, d.hidden, d.hidden));
    specs.push(
      ...linearSpecs(`${prefix}.attention.output.dense`, d.hidden, d.hidden),
      ...layerNormSpecs(`${prefix}.attention.output.LayerNorm`, d.hidden),
      ...linearSpecs(`${prefix}.intermediate.dense`, d.hidden, d.intermediate),
      ...linearSpecs(`${prefix}.output.dense`, d.intermediate, d.hidden),
      ...layerNormSpecs(`${prefix}.output.LayerNorm`, d.hidden),
    );
  }
  return specs;
}

/** Post-norm BERT encoder: learned absolute positions, token types, GELU, biases everywhere. */
export function buildBert(layers: EncoderLayers, d: ModelDims): string {
  const { g } = layers;
  const headDim = d.hidden / d.heads;
  const words = g.op('Gather', [layers.weight('embeddings.word_embeddings.weight'), INPUT_IDS]);
  const positions = g.op('Gather', [layers.weight('embeddings.position_embeddings.weight'), positionRange(g)]);
  const tokenTypes = g.op('Gather', [layers.weight('embeddings.token_type_embeddings.weight'), TOKEN_TYPE_IDS]);
  const embedded = g.op('Add', [g.op('Add', [words, positions]), tokenTypes]);
  let hidden = layerNorm(layers, embedded, 'embeddings.LayerNorm', d.normEps);
  const bias = layers.maskBias(keyAllowedMask(g));
  for (let i = 0; i < d.layers; i++) {
    const prefix = `encoder.layer.${i}`;
    const project = (name: string, x: string) => layers.linear(x, `${prefix}.${name}.weight`, `${prefix}.${name}.bias`);
    const context = layers.attention(
      project('attention.self.query', hidden),
      project('attention.self.key', hidden),
      project('attention.self.value', hidden),
      d.heads,
      headDim,
      bias,
    );
    const attended = g.op('Add', [project('attention.output.dense', context), hidden]);
    hidden = layerNorm(layers, attended, `${prefix}.attention.output.LayerNorm`, d.normEps);
    const intermediate = layers.gelu(project('intermediate.dense', hidden));
    hidden = layerNorm(layers, g.op('Add', [project('output.dense', intermediate), hidden]), `${prefix}.output.LayerNorm`, d.normEps);
  }
  return hidden;
}

function layerNorm(layers: EncoderLayers, x: string, prefix: string, epsilon: number): string {
  return layers.layerNorm(x, `${prefix}.weight`, `${prefix}.bias`, epsilon);
}

function linearSpecs(prefix: string, inputs: number, outputs: number): WeightSpec[] {
  return [
    { name: `${prefix}.weight`, dims: [inputs, outputs], init: 'normal' },
    { name: `${prefix}.bias`, dims: [outputs], init: 'normal' },
  ];
}

function layerNormSpecs(prefix: string, width: number): WeightSpec[] {
  return [
    { name: `${prefix}.weight`, dims: [width], init: 'ones-jitter' },
    { name: `${prefix}.bias`, dims: [width], init: 'normal' },
  ];
}
