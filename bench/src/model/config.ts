import { float, stringifyPythonJson } from './python-json.js';
import type { SpecialTokenIds } from './tokenizer/shared.js';

export const ARCHITECTURES = ['bert', 'modernbert'] as const;
export const SIZES = ['tiny', 'small', 'base'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export type ModelSize = (typeof SIZES)[number];

/** The hyperparameters the ONNX graph is built from; config.json is derived from the same values. */
export interface ModelDims {
  arch: Architecture;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Equal to the real model's for every size, so one tokenizer per architecture serves all sizes. */
  vocabSize: number;
  maxPositions: number;
  normEps: number;
}

export interface ModernBertAttention {
  globalEveryNLayers: number;
  /** Window width: a token attends to tokens at distance <= localWindow / 2. */
  localWindow: number;
  globalRopeTheta: number;
  localRopeTheta: number;
}

/** As in answerdotai/ModernBERT-base. */
export const MODERNBERT_ATTENTION: ModernBertAttention = {
  globalEveryNLayers: 3,
  localWindow: 128,
  globalRopeTheta: 160000,
  localRopeTheta: 10000,
};

export const BERT_TYPE_VOCAB_SIZE = 2;

/**
 * config.json key that marks a folder written by `model synth`: seeded random weights, never to be
 * reported as the real model. Hub configs never carry it.
 */
export const SYNTHETIC_MARKER_KEY = 'embedbench_synthetic';
export interface SyntheticMarker {
  arch: Architecture;
  size: ModelSize;
  seed: number;
}


const SHAPES: Record<Architecture, Record<ModelSize, Pick<ModelDims, 'layers' | 'hidden' | 'heads' | 'intermediate'>>> = {
  modernbert: {
    tiny: { layers: 2, hidden: 64, heads: 4, intermediate: 128 },
    small: { layers: 6, hidden: 384, heads: 6, intermediate: 576 },
    base: { layers: 22, hidden: 768, heads: 12, intermediate: 1152 },
  },
  bert: {
    tiny: { layers: 2, hidden: 64, heads: 4, intermediate: 128 },
    small: { layers: 6, hidden: 384, heads: 6, intermediate: 1536 },
    base: { layers: 12, hidden: 768, heads: 12, intermediate: 3072 },
  },
};

export function modelDims(arch: Architecture, size: ModelSize): ModelDims {
  const shape = SHAPES[arch][size];
  return arch === 'modernbert'
    ? { arch, ...shape, vocabSize: 50368, maxPositions: 8192, normEps: 1e-5 }
    : { arch, ...shape, vocabSize: 30522, maxPositions: 512, normEps: 1e-12 };
}

/**
 * config.json text for a synthesized model, marked with {@link SYNTHETIC_MARKER_KEY}: float
 * hyperparameters are spelled as floats (`2.0`, `1e-05`), as Python transformers requires.
 */
export function syntheticConfigJson(dims: ModelDims, tokens: SpecialTokenIds, marker: SyntheticMarker): string {
  return `${stringifyPythonJson({ ...hubConfig(dims, tokens), [SYNTHETIC_MARKER_KEY]: marker })}\n`;
}

/**
 * config.json in the shape of the Hub's answerdotai/ModernBERT-base and google-bert/bert-base-uncased
 * configs, with their types (floats wrapped in {@link float}), except `architectures`: the graph is
 * the bare encoder (no masked-LM head).
 */
function hubConfig(dims: ModelDims, tokens: SpecialTokenIds): Record<string, unknown> {
  const common = {
    hidden_size: dims.hidden,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    intermediate_size: dims.intermediate,
    max_position_embeddings: dims.maxPositions,
    vocab_size: dims.vocabSize,
    pad_token_id: tokens.pad,
    initializer_range: float(0.02),
    torch_dtype: 'float32',
  };
  if (dims.arch === 'bert') {
    return {
      architectures: ['BertModel'],
      model_type: 'bert',
      ...common,
      hidden_act: 'gelu',
      layer_norm_eps: float(dims.normEps),
      type_vocab_size: BERT_TYPE_VOCAB_SIZE,
      position_embedding_type: 'absolute',
      attention_probs_dropout_prob: float(0.1),
      hidden_dropout_prob: float(0.1),
      use_cache: true,
    };
  }
  const attention = MODERNBERT_ATTENTION;
  return {
    architectures: ['ModernBertModel'],
    model_type: 'modernbert',
    ...common,
    bos_token_id: tokens.cls,
    cls_token_id: tokens.cls,
    eos_token_id: tokens.sep,
    sep_token_id: tokens.sep,
    hidden_activation: 'gelu',
    norm_eps: float(dims.normEps),
    layer_norm_eps: float(dims.normEps),
    norm_bias: false,
    attention_bias: false,
    mlp_bias: false,
    attention_dropout: float(0),
    embedding_dropout: float(0),
    mlp_dropout: float(0),
    global_attn_every_n_layers: attention.globalEveryNLayers,
    local_attention: attention.localWindow,
    global_rope_theta: float(attention.globalRopeTheta),
    local_rope_theta: float(attention.localRopeTheta),
    position_embedding_type: 'absolute',
    initializer_cutoff_factor: float(2),
    classifier_pooling: 'mean',
  };
}
