/**
 * The sequence archs of src/engine/builders.ts train on wasm as on cpu:
 * from the same initial weights (one seeded build, copied to both
 * backends), the gradients of every trainable weight, then the losses and
 * weights after a few Adam steps, match the cpu backend.
 *
 * This covers the kernels these archs hit on wasm: LSTM/GRU cells (a JS loop
 * over time steps of MatMul, sigmoid, tanh, Mul, Add, Slice/Concat), Conv1D
 * (Conv2D through ExpandDims, and its two backprop kernels), MaxPooling1D
 * (MaxPool / MaxPoolGrad), Embedding (Gather, UnsortedSegmentSum for its
 * gradient), LayerNormalization (Mean, Square, Rsqrt), the attention's Dot
 * layers (BatchMatMul with transposes) and Softmax, global average/max pools.
 *
 * Tolerances as test/engine/kernels/training.test.ts: rtol 1e-3, atol 1e-5
 * for gradients; after steps, weights drift by float32 rounding through
 * Adam's normalisation, so 1e-3 relative / 1e-4 absolute there.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel, type BuildSpec } from '../../../src/engine/builders.js';
import type { Tf } from '../../../src/engine/tf.js';
import { errorStats, firstMismatch, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId, Tolerance } from './helpers.js';

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };
const STEP_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-4 };
const BATCH = 8;
const STEPS = 3;

beforeAll(async () => {
  await setupBackends();
});

interface Case {
  spec: BuildSpec;
  /** Token ids instead of float features. */
  vocabulary?: number;
}

const CASES: [string, Case][] = [
  ['lstm', { spec: { arch: 'lstm', inputShape: [7, 5], units: [8, 6] } }],
  ['gru bidirectional', { spec: { arch: 'gru', inputShape: [7, 5], units: [6], bidirectional: true } }],
  ['lstm on tokens (masked)', { spec: { arch: 'lstm', inputShape: [7], units: [6], embedding: { vocabulary: 13, dimensions: 4, maskZero: true } }, vocabulary: 13 }],
  ['conv1d', { spec: { arch: 'conv1d', inputShape: [8, 5], filters: [6, 8], pooling: 'max' } }],
  ['transformer', { spec: { arch: 'transformer', inputShape: [6, 5], dimensions: 8, heads: 2, blocks: 2, feedForward: 12 } }],
  ['transformer on tokens', { spec: { arch: 'transformer', inputShape: [6], dimensions: 8, heads: 2, blocks: 1, embedding: { vocabulary: 13, dimensions: 8 } }, vocabulary: 13 }],
];

function batch(c: Case, model: LayersModel): { x: Tensor; y: Tensor } {
  const shape = [BATCH, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const raw = uniform(shape, 11);
  // Token ids in [0, vocabulary): some zeros, so a masked LSTM skips steps.
  const values = c.vocabulary ? raw.map((v) => Math.floor(((v + 1) / 2) * c.vocabulary!)) : raw;
  const labels = uniform([BATCH], 12);
  const y = new Float32Array(BATCH * 10);
  for (let i = 0; i < BATCH; i++) y[i * 10 + Math.min(9, Math.floor((labels[i]! + 1) * 5))] = 1;
  return { x: tf.tensor(values, shape), y: tf.tensor(y, [BATCH, 10]) };
}

/** Builds `c` on `backend` with `weights` (or its own seeded ones) and returns it. */
function model(c: Case, weights?: Float32Array[]): LayersModel {
  const m = buildModel(tf as unknown as Tf, c.spec, 5);
  if (weights) m.setWeights(weights.map((w, i) => tf.tensor(w, m.getWeights()[i]!.shape)));
  return m;
}

const loss = (m: LayersModel, x: Tensor, y: Tensor) => () =>
  tf.metrics.categoricalCrossentropy(y, m.apply(x, { training: true }) as Tensor).mean() as tf.Scalar;

async function gradients(backend: BackendId, c: Case, weights: Float32Array[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const m = model(c, weights);
  const { x, y } = batch(c, m);
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(loss(m, x, y), vars);
  const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([value, x, y, ...Object.values(grads)]);
  m.dispose();
  return out;
}

async function train(backend: BackendId, c: Case, weights: Float32Array[]): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await tf.setBackend(backend);
  const m = model(c, weights);
  const { x, y } = batch(c, m);
  const optimizer = tf.train.adam(0.01);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const l = optimizer.minimize(loss(m, x, y), true)!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
  }
  const after = m.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([x, y]);
  optimizer.dispose();
  m.dispose();
  return { losses, weights: after };
}

describe.each(CASES)('%s on wasm matches cpu', (_name, c) => {
  let initial: Float32Array[];
  let names: string[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const m = model(c);
    initial = m.getWeights().map((w) => w.dataSync().slice() as Float32Array);
    names = m.trainableWeights.map((w) => w.originalName);
    m.dispose();
  });

  it('gradients of every trainable weight', async () => {
    const expected = await gradients('cpu', c, initial);
    const actual = await gradients('wasm', c, initial);
    expect(actual).toHaveLength(names.length);
    names.forEach((name, i) => {
      const problem = firstMismatch(actual[i]!, expected[i]!, GRAD_TOLERANCE);
      expect({ name, problem, worst: errorStats(actual[i]!, expected[i]!) }).toEqual({ name, problem: undefined, worst: expect.anything() });
    });
    // A gradient that is zero everywhere would pass the comparison and mean nothing trains.
    const dead = names.filter((_, i) => expected[i]!.every((v) => v === 0));
    expect(dead).toEqual([]);
  });

  it(`losses and weights after ${STEPS} Adam steps`, async () => {
    const expected = await train('cpu', c, initial);
    const actual = await train('wasm', c, initial);
    expect(firstMismatch(actual.losses, expected.losses, STEP_TOLERANCE)).toBeUndefined();
    expect(expected.losses[STEPS - 1]!).toBeLessThan(expected.losses[0]!);
    actual.weights.forEach((w, i) => {
      expect({ i, problem: firstMismatch(w, expected.weights[i]!, STEP_TOLERANCE) }).toEqual({ i, problem: undefined });
    });
  });
});
