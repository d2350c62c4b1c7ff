import { MODERNBERT_ATTENTION, type ModelDims } from '../config.js';
import { bytesOf } from './graph-builder.js';
import { INPUT_IDS, keyAllowedMask, positionRange } from './encoder-inputs.js';
import type { EncoderLayers } from './layers.js';
import { onnx } from './proto.js';
import type { WeightSpec } from './weights.js';

const DataType = onnx.TensorProto.DataType;

/** ModernBertModel's parameters under their Hugging Face names; Linear weights are stored [in, out]. */
export function modernBertWeightSpecs(d: ModelDims): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: 'embeddings.tok_embeddings.weight', dims: [d.vocabSize, d.hidden], init: 'normal' },
    { name: 'embeddings.norm.weight', dims: [d.hidden], init: 'ones-jitter' },
  ];
  for (let i = 0; i < d.layers; i++) {
    const prefix = `layers.${i}`;
    // Layer 0 has no attn_norm: the embedding norm precedes it (nn.Identity in HF).
    if (i > 0) specs.push({ name: `${prefix}.attn_norm.weight`, dims: [d.hidden], init: 'ones-jitter' });
    specs.push(
      { name: `${prefix}.attn.Wqkv.weight`, dims: [d.hidden, 3 * d.hidden], init: 'normal' },
      { name: `${prefix}.attn.Wo.weight`, dims: [d.hidden, d.hidden], init: 'normal' },
      { name: `${prefix}.mlp_norm.weight`, dims: [d.hidden], init: 'ones-jitter' },
      { name: `${prefix}.mlp.Wi.weight`, dims: [d.hidden, 2 * d.intermediate], init: 'normal' },
      { name: `${prefix}.mlp.Wo.weight`, dims: [d.intermediate, d.hidden], init: 'normal' },
    );
  }
  specs.push({ name: 'final_norm.weight', dims: [d.hidden], init: 'ones-jitter' });
  return specs;
}

export function isGlobalAttentionLayer(layerIndex: number): boolean {
  return layerIndex % MODERNBERT_ATTENTION.globalEveryNLayers === 0;
}

/**
 * Pre-norm ModernBERT encoder: rotary embeddings, no biases, GeGLU MLP, global attention every
 * third layer and sliding-window attention (|i - j| <= 64) in the others.
 */
export function buildModernBert(layers: EncoderLayers, d: ModelDims): string {
  const { g } = layers;
  const headDim = d.hidden / d.heads;
  const positions = positionRange(g);
  const keyAllowed = keyAllowedMask(g);
  const globalBias = layers.maskBias(keyAllowed);
  const localBias = layers.maskBias(g.op('And', [keyAllowed, slidingWindow(layers, positions)]));
  const globalRotary = rotary(layers, positions, headDim, MODERNBERT_ATTENTION.globalRopeTheta, 'global');
  const localRotary = rotary(layers, positions, headDim, MODERNBERT_ATTENTION.localRopeTheta, 'local');

  const embedded = g.op('Gather', [layers.weight('embeddings.tok_embeddings.weight'), INPUT_IDS]);
  let hidden = layerNorm(layers, embedded, 'embeddings.norm', d.normEps);
  for (let i = 0; i < d.layers; i++) {
    const prefix = `layers.${i}`;
    const global = isGlobalAttentionLayer(i);
    const normed = i === 0 ? hidden : layerNorm(layers, hidden, `${prefix}.attn_norm`, d.normEps);
    const qkv = layers.linear(normed, `${prefix}.attn.Wqkv.weight`);
    const [query, key, value] = g.opMulti('Split', [qkv, g.int64s([d.hidden, d.hidden, d.hidden])], 3, { axis: -1 }) as [string, string, string];
    const context = layers.attention(query, key, value, d.heads, headDim, global ? globalBias : localBias, global ? globalRotary : localRotary);
    hidden = g.op('Add', [hidden, layers.linear(context, `${prefix}.attn.Wo.weight`)]);

    const wide = layers.linear(layerNorm(layers, hidden, `${prefix}.mlp_norm`, d.normEps), `${prefix}.mlp.Wi.weight`);
    const [input, gate] = g.opMulti('Split', [wide, g.int64s([d.intermediate, d.intermediate])], 2, { axis: -1 }) as [string, string];
    const gated = g.op('Mul', [layers.gelu(input), gate]);
    hidden = g.op('Add', [hidden, layers.linear(gated, `${prefix}.mlp.Wo.weight`)]);
  }
  return layerNorm(layers, hidden, 'final_norm', d.normEps);
}

function layerNorm(layers: EncoderLayers, x: string, prefix: string, epsilon: number): string {
  return layers.layerNorm(x, `${prefix}.weight`, undefined, epsilon);
}

/** bool [seq, seq]: |i - j| <= localWindow / 2. */
function slidingWindow(layers: EncoderLayers, positions: string): string {
  const { g } = layers;
  const rows = g.op('Unsqueeze', [positions, g.int64s([1])]);
  const columns = g.op('Unsqueeze', [positions, g.int64s([0])]);
  const distance = g.op('Abs', [g.op('Sub', [rows, columns])]);
  return g.op('LessOrEqual', [distance, g.int64Scalar(MODERNBERT_ATTENTION.localWindow / 2)]);
}

/**
 * Rotary position embedding (HF's rotate_half form) for one theta. The angle tables are computed
 * in float32 even in fp16 graphs: float16 cannot represent positions * frequencies precisely.
 */
function rotary(layers: EncoderLayers, positions: string, headDim: number, theta: number, label: string): (x: string) => string {
  const { g } = layers;
  const half = headDim / 2;
  const inverseFrequencies = Float32Array.from({ length: half }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  const frequencies = g.addInitializer({
    name: `rotary_emb.${label}.inv_freq`,
    dataType: DataType.FLOAT,
    dims: [half],
    bytes: bytesOf(inverseFrequencies),
  });
  const columnPositions = g.op('Unsqueeze', [g.op('Cast', [positions], { to: DataType.FLOAT }), g.int64s([1])]);
  const angles = g.op('Mul', [columnPositions, frequencies]);
  const doubled = g.op('Concat', [angles, angles], { axis: -1 });
  const cos = layers.fromFloat32(g.op('Cos', [doubled]));
  const sin = layers.fromFloat32(g.op('Sin', [doubled]));
  return (x) => {
    const [first, second] = g.opMulti('Split', [x, g.int64s([half, half])], 2, { axis: -1 }) as [string, string];
    const rotatedHalf = g.op('Concat', [g.op('Neg', [second]), first], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotatedHalf, sin])]);
  };
}
