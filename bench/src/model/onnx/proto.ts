// onnx-proto is CommonJS whose namespace Node's ESM loader only exposes as the default export.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
