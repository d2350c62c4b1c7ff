import { SeededRandom } from '../../text/random.js';

export type WeightInit = 'normal' | 'ones-jitter';

export interface WeightSpec {
  name: string;
  dims: number[];
  init: WeightInit;
}

export interface WeightTensor {
  dims: number[];
  data: Float32Array;
}

export type Weights = ReadonlyMap<string, WeightTensor>;

export const INIT_STD = 0.02;

/**
 * Draws every tensor in `specs` order from one seeded stream: matrices, embeddings and biases
 * ~ N(0, 0.02) like BERT's init; norm scales ~ 1 + N(0, 0.02) (real init is exactly 1; the jitter
 * keeps scale and bias distinguishable in the reference-forward test).
 */
export function generateWeights(specs: WeightSpec[], seed: number): Weights {
  const random = new SeededRandom(seed);
  const weights = new Map<string, WeightTensor>();
  for (const spec of specs) {
    const data = new Float32Array(spec.dims.reduce((a, b) => a * b, 1));
    const mean = spec.init === 'ones-jitter' ? 1 : 0;
    for (let i = 0; i < data.length; i++) data[i] = mean + INIT_STD * random.normal();
    weights.set(spec.name, { dims: spec.dims, data });
  }
  return weights;
}
