import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic.js';
import { onnx, type OnnxTypes } from './onnx/proto.js';

export const HIDDEN_STATE_OUTPUT = 'last_hidden_state';

type Node = OnnxTypes.INodeProto;
type Tensor = OnnxTypes.ITensorProto;
type Graph = OnnxTypes.IGraphProto;
type Long = { toNumber(): number };

const NORMALIZATION_OPS = new Set([
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'RMSNormalization',
]);
/** Ops that pass an activation through unchanged in meaning (only a representation change). */
const REPRESENTATION_OPS = new Set(['Cast', 'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear', 'Identity']);
/** Exports that use Gemm flatten [batch, seq, hidden] to 2-D around it; the hidden state is the 3-D tensor. */
const FLATTENING_OPS = new Set(['Reshape', 'Flatten']);
/** For these ops only the first input carries data; the others are shapes, axes or pads. */
const SHAPE_ARGUMENT_OPS = new Set(['Reshape', 'Expand', 'Slice', 'Squeeze', 'Unsqueeze', 'Tile', 'Pad']);

export interface HiddenStateEdit {
  /** False when the graph already had a `last_hidden_state` output and was left alone. */
  changed: boolean;
  /** The tensor now exposed as `last_hidden_state` (the encoder's final normalized hidden state). */
  hiddenStateTensor?: string;
  removedOutputs: string[];
  removedNodes: number;
}

interface Projection {
  node: Node;
  /** The activation multiplied by the weight, seen through casts and quantization. */
  activation: string;
  /** Weight as [inputFeatures, outputFeatures]. */
  weightDims: [number, number];
}

/**
 * Makes a masked-LM export usable for embeddings: when the graph has no `last_hidden_state` output,
 * finds the encoder's final hidden state structurally (walking back from the logits through the
 * decoder projection [hidden, vocab] and the head's dense [hidden, hidden] + activation + norm),
 * exposes it as `last_hidden_state` [batch, seq, hidden], and prunes the head and the logits.
 * Only the graph proto changes; initializers stored as external data keep their references.
 * Throws when no hidden state can be identified: embeddings are never pooled from logits.
 */
export function exposeLastHiddenState(model: OnnxTypes.IModelProto, options: { hiddenSize?: number } = {}): HiddenStateEdit {
  const graph = model.graph;
  if (!graph) throw new Error('the ONNX model has no graph');
  const outputs = graph.output ?? [];
  if (outputs.some((output) => output.name === HIDDEN_STATE_OUTPUT)) return { changed: false, removedOutputs: [], removedNodes: 0 };

  const index = new GraphIndex(graph);
  const logits = pickLogitsOutput(outputs.map((output) => output.name ?? ''));
  const decoder = index.singleProjectionBehind(logits, 'the logits');
  const [hiddenSize, vocabSize] = decoder.weightDims;
  if (options.hiddenSize !== undefined && hiddenSize !== options.hiddenSize) {
    throw new Error(
      `the projection producing "${logits}" takes ${hiddenSize} features, not hidden_size ${options.hiddenSize}; ` +
        'it is not a masked-LM decoder',
    );
  }
  const headNodes = index.nodesBetween(decoder.activation);
  if (!headNodes.some((node) => NORMALIZATION_OPS.has(node.opType ?? '') || node.opType === 'ReduceMean')) {
    throw new Error(`no normalization between the encoder and the [${hiddenSize}, ${vocabSize}] decoder: not an MLM head`);
  }
  const headDense = index.singleProjectionBehind(decoder.activation, 'the MLM head');
  if (headDense.weightDims[0] !== hiddenSize || headDense.weightDims[1] !== hiddenSize) {
    throw new Error(`the MLM head's dense layer is [${headDense.weightDims.join(', ')}], expected [${hiddenSize}, ${hiddenSize}]`);
  }
  const hiddenState = headDense.activation;
  if (!index.endsInNormalization(hiddenState)) {
    throw new Error(`"${hiddenState}", the input of the MLM head, is not the output of a final normalization`);
  }

  graph.node = [
    ...(graph.node ?? []),
    { name: 'expose_last_hidden_state', opType: 'Identity', input: [hiddenState], output: [HIDDEN_STATE_OUTPUT] },
  ];
  const downstreamOfDecoder = index.tensorsDownstreamOf(decoder.node);
  const removedOutputs = outputs.filter((output) => downstreamOfDecoder.has(output.name ?? '')).map((output) => output.name ?? '');
  graph.output = [
    ...outputs.filter((output) => !downstreamOfDecoder.has(output.name ?? '')),
    hiddenStateValueInfo(graph, index.elementType(hiddenState), hiddenSize),
  ];
  const removedNodes = pruneDeadNodes(graph);
  return { changed: true, hiddenStateTensor: hiddenState, removedOutputs, removedNodes };
}

/** Applies {@link exposeLastHiddenState} to an .onnx file in place (atomically, only if it changes). */
export async function ensureHiddenStateOutput(path: string, options: { hiddenSize?: number } = {}): Promise<HiddenStateEdit> {
  const model = onnx.ModelProto.decode(await readFile(path));
  let edit: HiddenStateEdit;
  try {
    edit = exposeLastHiddenState(model, options);
  } catch (error) {
    throw new Error(`${path} has no ${HIDDEN_STATE_OUTPUT} output and cannot be given one: ${(error as Error).message}`);
  }
  if (edit.changed) await writeFileAtomic(path, onnx.ModelProto.encode(model).finish());
  return edit;
}

/** Relative paths of the external data files that the model's tensors reference. */
export function externalDataLocations(model: OnnxTypes.IModelProto): string[] {
  const locations = new Set<string>();
  for (const tensor of model.graph?.initializer ?? []) {
    const location = tensor.externalData?.find((entry) => entry.key === 'location')?.value;
    if (location) locations.add(location);
  }
  return [...locations];
}

function pickLogitsOutput(names: string[]): string {
  const logits = names.includes('logits') ? 'logits' : names.length === 1 ? names[0] : undefined;
  if (logits === undefined) {
    throw new Error(`no ${HIDDEN_STATE_OUTPUT} output and no single logits output to derive it from (outputs: ${names.join(', ')})`);
  }
  return logits;
}

class GraphIndex {
  private readonly producers = new Map<string, Node>();
  private readonly initializers = new Map<string, Tensor>();
  private readonly constantCache = new Map<string, boolean>();

  constructor(private readonly graph: Graph) {
    for (const node of graph.node ?? []) for (const output of node.output ?? []) this.producers.set(output, node);
    for (const tensor of graph.initializer ?? []) this.initializers.set(tensor.name ?? '', tensor);
  }

  /** The single matrix projection that every non-constant path backwards from `tensor` reaches first. */
  singleProjectionBehind(tensor: string, what: string): Projection {
    const { projections } = this.walkBack(tensor);
    if (projections.size !== 1) {
      throw new Error(`expected exactly one matrix projection directly behind ${what}, found ${projections.size}`);
    }
    const [node] = projections;
    const projection = node === undefined ? undefined : this.asProjection(node);
    if (projection === undefined) throw new Error(`cannot read the weight shape of the projection behind ${what}`);
    return projection;
  }

  /** Nodes on the paths backwards from `tensor` up to (not including) the projections reached first. */
  nodesBetween(tensor: string): Node[] {
    return [...this.walkBack(tensor).between];
  }

  endsInNormalization(tensor: string): boolean {
    const producer = this.producers.get(tensor);
    if (producer === undefined) return false;
    if (NORMALIZATION_OPS.has(producer.opType ?? '')) return true;
    // A decomposed LayerNorm/RMSNorm ends in Mul/Add/Div over a ReduceMean of its input.
    if (!['Add', 'Mul', 'Div'].includes(producer.opType ?? '')) return false;
    const nearby = [...this.walkBack(tensor, 8).between];
    return nearby.some((node) => node.opType === 'ReduceMean');
  }

  tensorsDownstreamOf(start: Node): Set<string> {
    const reached = new Set(start.output ?? []);
    for (const node of this.graph.node ?? []) {
      if ((node.input ?? []).some((input) => reached.has(input))) for (const output of node.output ?? []) reached.add(output);
    }
    return reached;
  }

  elementType(tensor: string): number {
    const declared = new Map(
      [...(this.graph.input ?? []), ...(this.graph.output ?? []), ...(this.graph.valueInfo ?? [])].map((info) => [
        info.name ?? '',
        info.type?.tensorType?.elemType ?? 0,
      ]),
    );
    // Normalizations, element-wise ops and gathers keep their data input's type, so follow it back.
    for (let current: string | undefined = tensor, steps = 0; current !== undefined && steps < 100_000; steps += 1) {
      const known = declared.get(current) || this.initializers.get(current)?.dataType;
      if (known) return known;
      const producer = this.producers.get(current);
      if (producer?.opType === 'Cast') return Number(attribute(producer, 'to')?.i ?? 0);
      current = producer?.input?.[producer.opType === 'Where' ? 1 : 0];
    }
    throw new Error(`cannot determine the element type of "${tensor}"`);
  }

  private walkBack(start: string, maxNodes = Infinity): { between: Set<Node>; projections: Set<Node> } {
    const between = new Set<Node>();
    const projections = new Set<Node>();
    const pending = [start];
    const seen = new Set<string>();
    while (pending.length > 0 && between.size < maxNodes) {
      const tensor = pending.pop() ?? '';
      if (tensor === '' || seen.has(tensor) || this.isConstant(tensor)) continue;
      seen.add(tensor);
      const producer = this.producers.get(tensor);
      if (producer === undefined) throw new Error(`walking back from "${start}" reached the graph input "${tensor}"`);
      // A dynamic quantization's scale and zero point describe the activation; they are not a data path.
      if (producer.opType === 'DynamicQuantizeLinear' && producer.output?.[0] !== tensor) continue;
      if (this.asProjection(producer) !== undefined) {
        projections.add(producer);
        continue;
      }
      between.add(producer);
      const inputs = producer.input ?? [];
      pending.push(...(SHAPE_ARGUMENT_OPS.has(producer.opType ?? '') ? inputs.slice(0, 1) : inputs));
    }
    return { between, projections };
  }

  private asProjection(node: Node): Projection | undefined {
    const inputs = node.input ?? [];
    const [activation, weight] = [inputs[0], inputs[1]];
    if (activation === undefined || weight === undefined) return undefined;
    let dims: number[] | undefined;
    switch (node.opType) {
      case 'MatMul':
      case 'MatMulInteger':
        dims = this.constantDims(weight);
        break;
      case 'FusedMatMul':
      case 'Gemm':
        dims = this.constantDims(weight);
        if (dims !== undefined && Number(attribute(node, 'transB')?.i ?? 0) === 1) dims = [...dims].reverse();
        break;
      case 'MatMulNBits':
        dims = [Number(attribute(node, 'K')?.i ?? 0), Number(attribute(node, 'N')?.i ?? 0)];
        break;
      default:
        return undefined;
    }
    if (dims?.length !== 2 || dims.some((dim) => !(dim > 0))) return undefined;
    return { node, activation: this.throughRepresentationOps(activation, FLATTENING_OPS), weightDims: [dims[0]!, dims[1]!] };
  }

  private throughRepresentationOps(tensor: string, alsoThrough: ReadonlySet<string> = new Set()): string {
    const passes = (op: string) => REPRESENTATION_OPS.has(op) || alsoThrough.has(op);
    let current = tensor;
    for (let producer = this.producers.get(current); producer && passes(producer.opType ?? ''); ) {
      current = producer.input?.[0] ?? current;
      producer = this.producers.get(current);
    }
    return current;
  }

  private constantDims(tensor: string): number[] | undefined {
    const initializer = this.initializers.get(tensor);
    if (initializer) return (initializer.dims ?? []).map(toNumber);
    const producer = this.producers.get(tensor);
    if (producer === undefined) return undefined;
    if (producer.opType === 'Constant') return (attribute(producer, 'value')?.t?.dims ?? []).map(toNumber);
    const source = producer.input?.[0];
    if (source === undefined) return undefined;
    if (producer.opType === 'Transpose') {
      const dims = this.constantDims(source);
      const permutation = (attribute(producer, 'perm')?.ints ?? []).map(toNumber);
      if (dims === undefined) return undefined;
      return permutation.length === dims.length ? permutation.map((axis) => dims[axis] ?? 0) : [...dims].reverse();
    }
    return REPRESENTATION_OPS.has(producer.opType ?? '') ? this.constantDims(source) : undefined;
  }

  private isConstant(tensor: string): boolean {
    const cached = this.constantCache.get(tensor);
    if (cached !== undefined) return cached;
    const producer = this.producers.get(tensor);
    const constant =
      this.initializers.has(tensor) ||
      (producer !== undefined &&
        (producer.opType === 'Constant' ||
          ((producer.input ?? []).length > 0 && (producer.input ?? []).every((input) => input === '' || this.isConstant(input)))));
    this.constantCache.set(tensor, constant);
    return constant;
  }
}

function hiddenStateValueInfo(graph: Graph, elemType: number, hiddenSize: number): OnnxTypes.IValueInfoProto {
  const inputDims = graph.input?.find((input) => input.name === 'input_ids')?.type?.tensorType?.shape?.dim ?? [];
  const axis = (position: number, fallback: string): OnnxTypes.TensorShapeProto.IDimension => {
    const dim = inputDims[position];
    if (dim?.dimParam) return { dimParam: dim.dimParam };
    if (dim?.dimValue !== undefined && dim.dimValue !== null && toNumber(dim.dimValue) > 0) return { dimValue: dim.dimValue };
    return { dimParam: fallback };
  };
  return {
    name: HIDDEN_STATE_OUTPUT,
    type: { tensorType: { elemType, shape: { dim: [axis(0, 'batch_size'), axis(1, 'sequence_length'), { dimValue: hiddenSize }] } } },
  };
}

/** Drops nodes no output depends on, then initializers, value infos and initializer-inputs they used. */
function pruneDeadNodes(graph: Graph): number {
  const nodes = graph.node ?? [];
  const needed = new Set((graph.output ?? []).map((output) => output.name ?? ''));
  const kept: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const node = nodes[i]!;
    if (!(node.output ?? []).some((output) => needed.has(output))) continue;
    kept.push(node);
    for (const input of referencedTensors(node)) needed.add(input);
  }
  graph.node = kept.reverse();
  const prunedInitializers = new Set(
    (graph.initializer ?? []).map((tensor) => tensor.name ?? '').filter((name) => !needed.has(name)),
  );
  graph.initializer = (graph.initializer ?? []).filter((tensor) => !prunedInitializers.has(tensor.name ?? ''));
  // Old exports also list initializers as graph inputs; the real inputs (input_ids, ...) always stay.
  graph.input = (graph.input ?? []).filter((input) => !prunedInitializers.has(input.name ?? ''));
  const produced = new Set(graph.node.flatMap((node) => node.output ?? []));
  graph.valueInfo = (graph.valueInfo ?? []).filter((info) => produced.has(info.name ?? ''));
  return nodes.length - graph.node.length;
}

/** Inputs of a node including outer-scope tensors used inside its subgraphs (If/Loop/Scan bodies). */
function referencedTensors(node: Node): string[] {
  const names = [...(node.input ?? [])];
  for (const attr of node.attribute ?? []) {
    for (const subgraph of [attr.g, ...(attr.graphs ?? [])]) {
      for (const inner of subgraph?.node ?? []) names.push(...referencedTensors(inner));
    }
  }
  return names;
}

function attribute(node: Node, name: string): OnnxTypes.IAttributeProto | undefined {
  return node.attribute?.find((attr) => attr.name === name);
}

function toNumber(value: number | Long): number {
  return typeof value === 'number' ? value : value.toNumber();
}
