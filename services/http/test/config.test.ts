import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, envVarName, parseServeConfig, serveHelp, SERVE_FLAGS, type ServeFlag } from '../src/config.js';

describe('parseServeConfig', () => {
  it('applies defaults, with the port chosen by backend', () => {
    const onnx = parseServeConfig({ backend: 'onnx', model: 'org/model' }, {});
    assert.equal(onnx.port, 8002);
    assert.equal(onnx.modelId, 'org/model');
    assert.equal(onnx.host, '127.0.0.1');
    assert.equal(onnx.payloadLimitBytes, 2 * 1024 * 1024);
    assert.equal(onnx.maxClientBatch, 256);
    assert.equal(onnx.maxInputTokens, 512);
    assert.equal(onnx.maxBatchMemoryBytes, undefined, 'unset: the service derives it from the token budget');
    assert.equal(parseServeConfig({ backend: 'onnx', model: 'm', 'max-batch-memory': '512mb' }, {}).maxBatchMemoryBytes, 512 * 1024 * 1024);
    assert.deepEqual(onnx.executionProviders, ['tensorrt', 'cuda', 'webgpu', 'cpu']);
    assert.equal(onnx.batching.enabled, true);
    assert.equal(onnx.batching.maxBatchTokens, undefined, "unset: the backend's budget for its device");
    assert.equal(onnx.batching.maxBatchRequests, undefined, "unset: the backend's row limit for its device");
    assert.equal(parseServeConfig({ backend: 'transformers', model: 'm' }, {}).port, 8000);
  });

  it('reads every setting from EMBEDBENCH_* variables, and flags win over them', () => {
    const config = parseServeConfig(
      { port: '9001' },
      {
        EMBEDBENCH_BACKEND: 'onnx',
        EMBEDBENCH_MODEL: 'm',
        EMBEDBENCH_PORT: '9000',
        EMBEDBENCH_PAYLOAD_LIMIT: '512kb',
        EMBEDBENCH_BATCHING: 'off',
        EMBEDBENCH_EXECUTION_PROVIDERS: 'cuda, cpu',
        EMBEDBENCH_WORKERS: '2',
        EMBEDBENCH_INTRA_OP_THREADS: '3',
      },
    );
    assert.equal(config.port, 9001);
    assert.equal(config.payloadLimitBytes, 512 * 1024);
    assert.equal(config.batching.enabled, false);
    assert.deepEqual(config.executionProviders, ['cuda', 'cpu']);
    assert.equal(config.workers, 2);
    assert.equal(config.intraOpThreads, 3);
  });

  it('names the flag and the environment variable of every invalid setting', () => {
    assert.throws(
      () => parseServeConfig({ backend: 'pytorch', port: '-1' }, { EMBEDBENCH_EXECUTION_PROVIDERS: 'cuda,rocm' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const line of ['--backend (EMBEDBENCH_BACKEND)', '--model (EMBEDBENCH_MODEL)', '--port (EMBEDBENCH_PORT)']) {
          assert.ok(error.message.includes(line), `${line} in ${error.message}`);
        }
        assert.match(error.message, /--execution-providers \(EMBEDBENCH_EXECUTION_PROVIDERS\).*"cuda,rocm"/);
        return true;
      },
    );
  });

  it('documents every flag with its environment variable in the help text', () => {
    const help = serveHelp();
    for (const flag of Object.keys(SERVE_FLAGS) as ServeFlag[]) {
      assert.ok(help.includes(`--${flag} `), flag);
      assert.ok(help.includes(envVarName(flag)), envVarName(flag));
    }
    assert.equal(envVarName('max-batch-tokens'), 'EMBEDBENCH_MAX_BATCH_TOKENS');
  });
});
