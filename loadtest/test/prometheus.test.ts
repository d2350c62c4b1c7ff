import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterDelta, readServiceCounters, sumCounter } from '../lib/prometheus.ts';

const EXPOSITION = `# HELP embedbench_http_requests_total HTTP requests by route and status
# TYPE embedbench_http_requests_total counter
embedbench_http_requests_total{route="/health",status="200",backend="onnx"} 3
embedbench_http_requests_total{route="/embed",status="200",backend="onnx"} 120
embedbench_http_requests_total{route="/embed",status="429",backend="onnx"} 4
embedbench_http_requests_total_created{route="/embed"} 1700000000
embedbench_tokens_total{backend="onnx"} 5.5e3
`;

test('sumCounter adds every sample whose labels match, ignoring look-alike names', () => {
  assert.equal(sumCounter(EXPOSITION, 'embedbench_http_requests_total', { route: '/embed' }), 124);
  assert.equal(sumCounter(EXPOSITION, 'embedbench_http_requests_total', { route: '/embed', status: '429' }), 4);
  assert.equal(sumCounter(EXPOSITION, 'embedbench_http_requests_total'), 127);
  assert.equal(sumCounter(EXPOSITION, 'embedbench_missing_total'), null);
});

test('a declared counter with nothing counted yet is 0, not unknown', () => {
  const fresh = '# HELP embedbench_http_requests_total HTTP requests\n# TYPE embedbench_http_requests_total counter\n';
  assert.equal(sumCounter(fresh, 'embedbench_http_requests_total', { route: '/embed' }), 0);
  assert.equal(sumCounter(EXPOSITION, 'embedbench_http_requests_total', { route: '/other' }), 0);
});

test('readServiceCounters and counterDelta give unknown (null) rather than a guess', () => {
  const before = readServiceCounters(EXPOSITION);
  assert.deepEqual(before, { requests: 124, tokens: 5500 });
  const after = readServiceCounters(EXPOSITION.replace('} 120', '} 150').replace('5.5e3', '6000'));
  assert.deepEqual(counterDelta(before, after), { requests: 30, tokens: 500 });
  assert.deepEqual(counterDelta(null, after), { requests: null, tokens: null });
  assert.deepEqual(counterDelta(before, readServiceCounters('')), { requests: null, tokens: null });
});
