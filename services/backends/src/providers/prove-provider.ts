/**
 * Child process of probeExecutionProviders: creates and runs a one-node session (y = x + x) with
 * exactly one execution provider and prints {"ok":true} or {"ok":false,"error":...} as its last
 * line. Run apart from the service so that onnxruntime's and Dawn's own messages about a provider
 * that cannot start land in a captured stream, not in the service's output.
 */
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

const provider = process.argv[2] ?? 'cpu';
const { onnx } = onnxProto;

const tensor = (name: string) => ({
  name,
  type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } },
});
const model = onnx.ModelProto.encode({
  irVersion: 8,
  opsetImport: [{ domain: '', version: 17 }],
  graph: { name: 'probe', node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'] }], input: [tensor('x')], output: [tensor('y')] },
}).finish();

/** onnxruntime prefixes its messages with the C++ source location; the reason is what follows. */
function reasonOf(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  const afterAssertion = /was false\.\s*(.*)$/.exec(message)?.[1];
  return (afterAssertion ?? message.replace(/^.*?\] ?/, '')).trim().slice(0, 300);
}

try {
  ort.env.logLevel = 'fatal';
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider], logSeverityLevel: 4 });
  const output = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
  const values = Array.from(output.y!.data as Float32Array);
  if (values.join(',') !== '2,4,6,8') throw new Error(`wrong result ${values.join(',')}`);
  await session.release();
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: reasonOf(error) })}\n`);
}
