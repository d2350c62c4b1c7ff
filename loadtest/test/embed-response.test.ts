import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkEmbedResponse, modelInfo, parseTimingHeader } from '../lib/embed-response.ts';
import { classifyResponse } from '../lib/result.ts';

test('checkEmbedResponse checks the count and the dimension of the embeddings', () => {
  const body = { embeddings: [[0.1, 0.2], [0.3, 0.4]] };
  assert.deepEqual(checkEmbedResponse(body, 2, 2), { countMatches: true, dimensionMatches: true, embeddings: 2 });
  assert.deepEqual(checkEmbedResponse(body, 3, 2), { countMatches: false, dimensionMatches: true, embeddings: 2 });
  assert.deepEqual(checkEmbedResponse(body, 2, 768), { countMatches: true, dimensionMatches: false, embeddings: 2 });
  assert.deepEqual(checkEmbedResponse({ embeddings: [[0.1], []] }, 2, null).dimensionMatches, false);
  assert.deepEqual(checkEmbedResponse('oops', 2, null), { countMatches: false, dimensionMatches: false, embeddings: 0 });
});

test('classifyResponse keys errors by documented status, transport failure and bad body', () => {
  assert.equal(classifyResponse(200, true), null);
  assert.equal(classifyResponse(200, false), 'invalid_response');
  assert.equal(classifyResponse(0, false), 'network');
  assert.equal(classifyResponse(429, false), '429');
  assert.equal(classifyResponse(418, false), 'other');
});

test('modelInfo and parseTimingHeader read what is there and nothing else', () => {
  assert.deepEqual(modelInfo({ model: 'bert-tiny', embedding_dim: 64 }), { model: 'bert-tiny', embeddingDim: 64 });
  assert.deepEqual(modelInfo({ model: 3 }), { model: null, embeddingDim: null });
  assert.equal(parseTimingHeader('12.5'), 12.5);
  assert.equal(parseTimingHeader(undefined), null);
  assert.equal(parseTimingHeader('soon'), null);
  assert.equal(parseTimingHeader('-1'), null);
});
