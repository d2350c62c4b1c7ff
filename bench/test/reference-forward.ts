/**
 * An independent forward pass of the synthesized encoders in plain TypeScript (Float64 loops),
 * reading the same weights back from the ONNX file's initializers and hyperparameters from
 * config.json. It shares no code with the graph builder, so a mistake in either shows up as a
 * mismatch against onnxruntime's output.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface ReferenceTensor {
  dims: number[];
  data: Float64Array;
}

export interface TokenBatch {
  batch: number;
  sequence: number;
  inputIds: number[];
  attentionMask: number[];
}

interface EncoderConfig {
  model_type: 'bert' | 'modernbert';
  hidden_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  intermediate_size: number;
  layer_norm_eps?: number;
  norm_eps?: number;
  global_attn_every_n_layers?: number;
  local_attention?: number;
  global_rope_theta?: number;
  local_rope_theta?: number;
}

export async function readFloatInitializers(onnxPath: string): Promise<Map<string, ReferenceTensor>> {
  const model = onnx.ModelProto.decode(await readFile(onnxPath));
  const tensors = new Map<string, ReferenceTensor>();
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const { name, rawData, dims } = tensor;
    if (!name || !rawData || !dims) throw new Error(`${onnxPath}: float initializer without name, raw_data or dims`);
    const aligned = new Float32Array(rawData.byteLength / 4);
    new Uint8Array(aligned.buffer).set(rawData);
    tensors.set(name, { dims: dims.map(Number), data: Float64Array.from(aligned) });
  }
  return tensors;
}

/** last_hidden_state [batch, sequence, hidden] for the model folder's fp32 weights. */
export async function referenceForward(modelDir: string, tokens: TokenBatch): Promise<Float64Array> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as EncoderConfig;
  const weights = await readFloatInitializers(join(modelDir, 'onnx', 'model.onnx'));
  const get = (name: string): Float64Array => {
    const tensor = weights.get(name);
    if (tensor === undefined) throw new Error(`weight ${name} missing from model.onnx`);
    return tensor.data;
  };
  const output = new Float64Array(tokens.batch * tokens.sequence * config.hidden_size);
  for (let b = 0; b < tokens.batch; b++) {
    const ids = tokens.inputIds.slice(b * tokens.sequence, (b + 1) * tokens.sequence);
    const mask = tokens.attentionMask.slice(b * tokens.sequence, (b + 1) * tokens.sequence);
    const rows = config.model_type === 'bert' ? bertRows(config, get, ids, mask) : modernBertRows(config, get, ids, mask);
    rows.forEach((row, position) => output.set(row, (b * tokens.sequence + position) * config.hidden_size));
  }
  return output;
}

type WeightLookup = (name: string) => Float64Array;

function bertRows(config: EncoderConfig, get: WeightLookup, ids: number[], mask: number[]): Float64Array[] {
  const h = config.hidden_size;
  const eps = config.layer_norm_eps!;
  const words = get('embeddings.word_embeddings.weight');
  const positionTable = get('embeddings.position_embeddings.weight');
  const types = get('embeddings.token_type_embeddings.weight');
  let x = ids.map((id, position) => {
    const row = new Float64Array(h);
    for (let d = 0; d < h; d++) row[d] = words[id * h + d]! + positionTable[position * h + d]! + types[d]!;
    return layerNorm(row, get('embeddings.LayerNorm.weight'), get('embeddings.LayerNorm.bias'), eps);
  });
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    const dense = (name: string, input: Float64Array) => linear(input, get(`${p}.${name}.weight`), get(`${p}.${name}.bias`));
    const q = x.map((row) => dense('attention.self.query', row));
    const k = x.map((row) => dense('attention.self.key', row));
    const v = x.map((row) => dense('attention.self.value', row));
    const context = attend(q, k, v, config.num_attention_heads, (_i, j) => mask[j] === 1);
    x = x.map((row, i) =>
      layerNorm(add(dense('attention.output.dense', context[i]!), row), get(`${p}.attention.output.LayerNorm.weight`), get(`${p}.attention.output.LayerNorm.bias`), eps),
    );
    x = x.map((row) => {
      const intermediate = dense('intermediate.dense', row).map(gelu);
      return layerNorm(add(dense('output.dense', intermediate), row), get(`${p}.output.LayerNorm.weight`), get(`${p}.output.LayerNorm.bias`), eps);
    });
  }
  return x;
}

function modernBertRows(config: EncoderConfig, get: WeightLookup, ids: number[], mask: number[]): Float64Array[] {
  const h = config.hidden_size;
  const eps = config.norm_eps!;
  const heads = config.num_attention_heads;
  const intermediateSize = config.intermediate_size;
  const embeddings = get('embeddings.tok_embeddings.weight');
  let x = ids.map((id) => layerNorm(embeddings.slice(id * h, (id + 1) * h), get('embeddings.norm.weight'), undefined, eps));
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    const isGlobal = l % config.global_attn_every_n_layers! === 0;
    const theta = isGlobal ? config.global_rope_theta! : config.local_rope_theta!;
    const halfWindow = config.local_attention! / 2;
    const normed = l === 0 ? x : x.map((row) => layerNorm(row, get(`${p}.attn_norm.weight`), undefined, eps));
    const qkv = normed.map((row) => linear(row, get(`${p}.attn.Wqkv.weight`)));
    const q = qkv.map((row, position) => rotate(row.slice(0, h), heads, position, theta));
    const k = qkv.map((row, position) => rotate(row.slice(h, 2 * h), heads, position, theta));
    const v = qkv.map((row) => row.slice(2 * h, 3 * h));
    const allowed = (i: number, j: number) => mask[j] === 1 && (isGlobal || Math.abs(i - j) <= halfWindow);
    const context = attend(q, k, v, heads, allowed);
    x = x.map((row, i) => add(row, linear(context[i]!, get(`${p}.attn.Wo.weight`))));
    x = x.map((row) => {
      const wide = linear(layerNorm(row, get(`${p}.mlp_norm.weight`), undefined, eps), get(`${p}.mlp.Wi.weight`));
      const gated = new Float64Array(intermediateSize);
      for (let d = 0; d < intermediateSize; d++) gated[d] = gelu(wide[d]!) * wide[intermediateSize + d]!;
      return add(row, linear(gated, get(`${p}.mlp.Wo.weight`)));
    });
  }
  return x.map((row) => layerNorm(row, get('final_norm.weight'), undefined, eps));
}

/** Softmax attention per head over the keys `allowed(query, key)` permits; rows with none stay zero. */
function attend(
  q: Float64Array[],
  k: Float64Array[],
  v: Float64Array[],
  heads: number,
  allowed: (query: number, key: number) => boolean,
): Float64Array[] {
  const width = q[0]!.length;
  const headDim = width / heads;
  return q.map((query, i) => {
    const context = new Float64Array(width);
    const keys = k.map((_, j) => j).filter((j) => allowed(i, j));
    for (let head = 0; head < heads; head++) {
      const offset = head * headDim;
      const scores = keys.map((j) => {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += query[offset + d]! * k[j]![offset + d]!;
        return dot / Math.sqrt(headDim);
      });
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      keys.forEach((j, n) => {
        for (let d = 0; d < headDim; d++) context[offset + d]! += (exps[n]! / total) * v[j]![offset + d]!;
      });
    }
    return context;
  });
}

/** Rotary embedding in HF's rotate_half convention, per head. */
function rotate(x: Float64Array, heads: number, position: number, theta: number): Float64Array {
  const headDim = x.length / heads;
  const half = headDim / 2;
  const out = new Float64Array(x.length);
  for (let head = 0; head < heads; head++) {
    const o = head * headDim;
    for (let d = 0; d < half; d++) {
      const angle = position * theta ** (-(2 * d) / headDim);
      const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
      out[o + d] = x[o + d]! * cos - x[o + half + d]! * sin;
      out[o + half + d] = x[o + half + d]! * cos + x[o + d]! * sin;
    }
  }
  return out;
}

/** x @ W (+ b), W stored [in, out] as in the ONNX initializers. */
function linear(x: Float64Array, weight: Float64Array, bias?: Float64Array): Float64Array {
  const outputs = weight.length / x.length;
  const y = bias ? Float64Array.from(bias) : new Float64Array(outputs);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const rowOffset = i * outputs;
    for (let o = 0; o < outputs; o++) y[o]! += xi * weight[rowOffset + o]!;
  }
  return y;
}

function layerNorm(x: Float64Array, scale: Float64Array, bias: Float64Array | undefined, eps: number): Float64Array {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  const inverse = 1 / Math.sqrt(variance + eps);
  return x.map((value, d) => (value - mean) * inverse * scale[d]! + (bias ? bias[d]! : 0));
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((value, d) => value + b[d]!);
}

function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** erf by its Maclaurin series (|x| < 3, converges to double precision) or continued fraction of erfc. */
export function erf(x: number): number {
  const sign = Math.sign(x);
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  }
  let fraction = 0;
  for (let n = 60; n >= 1; n--) fraction = n / 2 / (a + fraction);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + fraction);
  return sign * (1 - erfc);
}
