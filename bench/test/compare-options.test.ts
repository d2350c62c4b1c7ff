import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { register } from '../src/commands/compare.js';
import { CompareOptionsError, parseCompareOptions, QUICKSTART_PRESET } from '../src/compare/options.js';
import { serveOptionsFor } from '../src/compare/runtimes/support.js';

/** Parses argv with the real `compare` command definition and returns what its action receives. */
function optionsFromArgv(argv: string[]): Record<string, unknown> {
  const program = new Command().exitOverride();
  register(program);
  const compare = program.commands.find((command) => command.name() === 'compare')!;
  let received: Record<string, unknown> = {};
  compare.action((options: Record<string, unknown>) => {
    received = options;
  });
  program.parse(['node', 'embedbench', 'compare', ...argv]);
  return received;
}

test('the --config.* spellings and the plain ones give the same settings', () => {
  const poc = parseCompareOptions(optionsFromArgv(['--model', 'm', '--config.duration-minutes', '2', '--config.batch-sizes', '16', '32', '64', '--config.max-concurrent-requests', '5', '--config.num-sentences', '1000']));
  const plain = parseCompareOptions(optionsFromArgv(['--model', 'm', '--duration-minutes', '2', '--batch-sizes', '16,32,64', '--max-concurrent-requests', '5', '--num-sentences', '1000']));
  assert.deepEqual(poc, plain);
  assert.equal(poc.durationSeconds, 120);
  assert.deepEqual(poc.batchSizes, [16, 32, 64]);
  assert.equal(poc.maxConcurrentRequests, 5);
  assert.equal(poc.numSentences, 1000);
  assert.equal(poc.preset, undefined);
});

test('defaults apply when only a model is given', () => {
  const settings = parseCompareOptions(optionsFromArgv(['--model', 'models/x']));
  assert.deepEqual(settings.variants.map((variant) => variant.label), ['transformers', 'onnx']);
  assert.equal(settings.repeats, 3, 'repeats by default, so that every result has a spread');
  assert.deepEqual(settings.batchSizes, [16, 32, 64]);
  assert.equal(settings.durationSeconds, 600);
  assert.equal(settings.maxConcurrentRequests, 10);
  assert.equal(settings.driver, 'auto');
  assert.equal(settings.runtime, 'local');
  assert.equal(settings.resultsDir, 'results');
});

test('without --model the quickstart preset applies, and explicit options still win over it', () => {
  const quick = parseCompareOptions(optionsFromArgv([]));
  assert.equal(quick.preset, 'quickstart');
  assert.equal(quick.durationSeconds, QUICKSTART_PRESET.durationSeconds);
  assert.deepEqual(quick.batchSizes, QUICKSTART_PRESET.batchSizes);
  assert.ok(quick.repeats >= 3, 'the quick start repeats each run at least three times');
  const tuned = parseCompareOptions(optionsFromArgv(['--duration-minutes', '1', '--batch-sizes', '4']));
  assert.equal(tuned.preset, 'quickstart');
  assert.equal(tuned.durationSeconds, 60, '--duration-minutes beats the preset duration');
  assert.deepEqual(tuned.batchSizes, [4]);
});

test('--duration-seconds overrides --duration-minutes; --image and --backends parse into their shapes', () => {
  const settings = parseCompareOptions(
    optionsFromArgv(['--model', 'm', '--duration-minutes', '5', '--duration-seconds', '3', '--image', 'onnx=my/onnx:1', 'transformers=my/tf:2', '--backends', 'onnx', '--runtime', 'docker']),
  );
  assert.equal(settings.durationSeconds, 3);
  assert.deepEqual(settings.images, { onnx: 'my/onnx:1', transformers: 'my/tf:2' });
  assert.deepEqual(settings.variants, [{ label: 'onnx', backend: 'onnx', options: {}, fileName: 'onnx' }]);
  assert.equal(settings.runtime, 'docker');
});

test('bad values give one clear error per option, naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--batch-sizes', '16,abc'], /--batch-sizes: batch sizes are positive integers/],
    [['--batch-sizes', '0'], /--batch-sizes/],
    [['--scenario', 'burst'], /--scenario/],
    [['--driver', 'locust'], /--driver/],
    [['--runtime', 'kubernetes'], /--runtime/],
    [['--duration-minutes', '-1'], /--duration-minutes/],
    [['--gpu-metrics-url', 'not a url'], /--gpu-metrics-url/],
    [['--backends', 'onnx[dtpye=q8]'], /--backends: onnx\[dtpye=q8\]: unknown serve option "dtpye" \(serve options: .*dtype/],
    [['--backends', 'onnx[dtype=int3]'], /--backends: onnx\[dtype=int3\]: --dtype \(EMBEDBENCH_DTYPE\): .*\(got "int3"\)/],
    [['--backends', 'onnx[port=9000]'], /--backends: onnx\[port=9000\]: port is set by compare itself/],
    [['--backends', 'onnx[dtype]'], /--backends: onnx\[dtype\]: expected key=value/],
    [['--backends', 'tensorflow'], /--backends: tensorflow: unknown backend "tensorflow" \(backends: transformers, onnx\)/],
    [['--backends', 'onnx[dtype=q8'], /--backends: onnx\[dtype=q8: expected BACKEND or BACKEND\[key=value,...\]/],
    [['--image', 'onnx'], /--image: expected BACKEND=IMAGE/],
    [['--parity-threshold', '2'], /--parity-threshold/],
  ];
  for (const [argv, expected] of cases) {
    assert.throws(() => parseCompareOptions(optionsFromArgv(['--model', 'm', ...argv])), (error: unknown) => {
      assert.ok(error instanceof CompareOptionsError, `${argv.join(' ')}: ${String(error)}`);
      assert.match(error.message, expected, argv.join(' '));
      return true;
    });
  }
});

test('the two spellings of one option must agree', () => {
  assert.throws(
    () => parseCompareOptions(optionsFromArgv(['--model', 'm', '--batch-sizes', '8', '--config.batch-sizes', '16'])),
    /--batch-sizes and --config.batch-sizes disagree/,
  );
  assert.deepEqual(parseCompareOptions(optionsFromArgv(['--model', 'm', '--batch-sizes', '8', '--config.batch-sizes', '8'])).batchSizes, [8]);
});

test('--backends takes variants with serve options; a variant listed twice is an A/A pair with its own labels and files', () => {
  const settings = parseCompareOptions(optionsFromArgv(['--model', 'm', '--backends', 'onnx', 'onnx[dtype=q8, intra-op-threads=1]', 'transformers,onnx']));
  assert.deepEqual(settings.variants, [
    { label: 'onnx#1', backend: 'onnx', options: {}, fileName: 'onnx-1' },
    { label: 'onnx[dtype=q8,intra-op-threads=1]', backend: 'onnx', options: { dtype: 'q8', 'intra-op-threads': '1' }, fileName: 'onnx-dtype-q8-intra-op-threads-1' },
    { label: 'transformers', backend: 'transformers', options: {}, fileName: 'transformers' },
    { label: 'onnx#2', backend: 'onnx', options: {}, fileName: 'onnx-2' },
  ]);
  const launch = { backend: 'onnx', modelDir: 'm', modelId: 'm', logPath: 'l', startupTimeoutMs: 1, serveOptions: settings.variants[1]!.options };
  assert.deepEqual(serveOptionsFor({ ...launch, useGpu: false }), { device: 'cpu', dtype: 'q8', 'intra-op-threads': '1' }, 'no GPU: the CPU unless the variant names a device');
  assert.deepEqual(serveOptionsFor({ ...launch, useGpu: true }), { dtype: 'q8', 'intra-op-threads': '1' });
  assert.deepEqual(serveOptionsFor({ ...launch, useGpu: false, serveOptions: { device: 'cuda' } }), { device: 'cuda' });
});
