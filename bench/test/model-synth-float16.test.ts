import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFloat16Bits } from '../src/model/onnx/float16.js';

describe('toFloat16Bits', () => {
  const cases: Array<[string, number, number]> = [
    ['one', 1, 0x3c00],
    ['negative two', -2, 0xc000],
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['largest finite', 65504, 0x7bff],
    ['overflow rounds to infinity', 65520, 0x7c00],
    ['infinity', Infinity, 0x7c00],
    ['smallest normal', 2 ** -14, 0x0400],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['half the smallest subnormal ties to even (zero)', 2 ** -25, 0x0000],
    ['tie between 1 and 1+2^-10 rounds to even', 1 + 2 ** -11, 0x3c00],
    ['tie rounds up to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['0.1', 0.1, 0x2e66],
  ];
  for (const [label, value, bits] of cases) {
    it(`encodes ${label}`, () => assert.equal(toFloat16Bits(value), bits));
  }
  it('encodes NaN as a quiet NaN', () => assert.equal(toFloat16Bits(Number.NaN) & 0x7e00, 0x7e00));
});
