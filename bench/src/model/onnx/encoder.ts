import type { ModelDims } from '../config.js';
import { bertWeightSpecs, buildBert } from './bert.js';
import { ATTENTION_MASK, INPUT_IDS, LAST_HIDDEN_STATE, TOKEN_TYPE_IDS } from './encoder-inputs.js';
import { GraphBuilder, type GraphValueInfo } from './graph-builder.js';
import { EncoderLayers, type Precision } from './layers.js';
import { buildModernBert, modernBertWeightSpecs } from './modernbert.js';
import { onnx } from './proto.js';
import type { OnnxModelDescription } from './serialize.js';
import type { WeightSpec, Weights } from './weights.js';

const DataType = onnx.TensorProto.DataType;
const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';

export function encoderWeightSpecs(dims: ModelDims): WeightSpec[] {
  return dims.arch === 'bert' ? bertWeightSpecs(dims) : modernBertWeightSpecs(dims);
}

/** The encoder graph at one precision: int64 token inputs in, float32 last_hidden_state out. */
export function buildEncoderModel(dims: ModelDims, weights: Weights, precision: Precision): OnnxModelDescription {
  const graph = new GraphBuilder(`${dims.arch}_encoder`);
  const layers = new EncoderLayers(graph, weights, precision);
  const hidden = dims.arch === 'bert' ? buildBert(layers, dims) : buildModernBert(layers, dims);
  layers.toFloat32(hidden, LAST_HIDDEN_STATE);

  const tokenInput = (name: string): GraphValueInfo => ({ name, elemType: DataType.INT64, shape: [BATCH, SEQUENCE] });
  const inputs = [tokenInput(INPUT_IDS), tokenInput(ATTENTION_MASK)];
  if (dims.arch === 'bert') inputs.push(tokenInput(TOKEN_TYPE_IDS));
  return {
    graph,
    inputs,
    outputs: [{ name: LAST_HIDDEN_STATE, elemType: DataType.FLOAT, shape: [BATCH, SEQUENCE, dims.hidden] }],
    docString: `Synthetic ${dims.arch} encoder (${dims.layers} layers, hidden ${dims.hidden}), ${precision}, by embedbench model synth`,
  };
}
