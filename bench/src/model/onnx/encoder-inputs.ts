import type { GraphBuilder } from './graph-builder.js';
import { onnx } from './proto.js';

const DataType = onnx.TensorProto.DataType;

export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const TOKEN_TYPE_IDS = 'token_type_ids';
export const LAST_HIDDEN_STATE = 'last_hidden_state';

/** 0, 1, ..., seq-1 (int64), from the dynamic sequence axis of input_ids. */
export function positionRange(g: GraphBuilder): string {
  const sequenceLength = g.op('Gather', [g.op('Shape', [INPUT_IDS]), g.int64Scalar(1)], { axis: 0 });
  return g.op('Range', [g.int64Scalar(0), sequenceLength, g.int64Scalar(1)]);
}

/** attention_mask as bool [batch, 1, 1, seq]: which keys every query may attend to. */
export function keyAllowedMask(g: GraphBuilder): string {
  const allowed = g.op('Cast', [ATTENTION_MASK], { to: DataType.BOOL });
  return g.op('Unsqueeze', [allowed, g.int64s([1, 2])]);
}
