import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchForRequest, parsePassagesJsonl } from '../lib/passages.ts';

test('parsePassagesJsonl reads one {pid,text} per line and skips blank lines', () => {
  const passages = parsePassagesJsonl('{"pid":"1","text":"a"}\n\n{"pid":"2","text":"b","extra":1}\n', 'p.jsonl');
  assert.deepEqual(passages, [
    { pid: '1', text: 'a' },
    { pid: '2', text: 'b' },
  ]);
});

test('parsePassagesJsonl names the file and line of a bad record', () => {
  assert.throws(() => parsePassagesJsonl('{"pid":"1","text":"a"}\nnot json\n', 'p.jsonl'), /p\.jsonl:2: not valid JSON/);
  assert.throws(() => parsePassagesJsonl('{"pid":1,"text":"a"}', 'p.jsonl'), /p\.jsonl:1: expected \{"pid": string, "text": string\}/);
  assert.throws(() => parsePassagesJsonl('{"pid":"1","text":""}', 'p.jsonl'), /p\.jsonl:1/);
  assert.throws(() => parsePassagesJsonl('\n\n', 'empty.jsonl'), /empty\.jsonl: no passages/);
});

test('batchForRequest takes consecutive passages and wraps around the dataset', () => {
  const passages = ['a', 'b', 'c', 'd', 'e'].map((text, index) => ({ pid: String(index), text }));
  assert.deepEqual(batchForRequest(passages, 2, 0), ['a', 'b']);
  assert.deepEqual(batchForRequest(passages, 2, 2), ['e', 'a']);
  assert.deepEqual(batchForRequest(passages, 7, 1), ['c', 'd', 'e', 'a', 'b', 'c', 'd']);
});
