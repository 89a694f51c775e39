/**
 * End to end on wasm with our kernels registered:
 * - the gradient of each architecture's loss w.r.t. every trainable weight
 *   matches the cpu backend (same weights, same batch; dropout left out);
 * - one `fit` epoch over 256 random examples runs for each architecture with
 *   sgd, momentum and adam, with a finite loss and every weight updated.
 *
 * Gradient tolerance: rtol 1e-3, atol 1e-5 per element. Looser than the single
 * kernel tests: errors compound through the layers and batch norm divides by
 * batch statistics, while a wrong kernel is off by O(1).
 */
import type { Tensor } from '@tensorflow/tfjs';
import { ARCHS, OPTIMIZERS } from './architectures.js';
import type { Arch } from './architectures.js';
import { errorStats, firstMismatch, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId, Tolerance } from './helpers.js';

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };

beforeAll(async () => {
  await setupBackends();
});

function oneHot(n: number, seed: number): Float32Array {
  const labels = uniform([n], seed);
  const y = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) y[i * 10 + Math.min(9, Math.floor((labels[i]! + 1) * 5))] = 1;
  return y;
}

/** Gradients of the categorical cross-entropy w.r.t. every trainable weight, on `backend`. */
async function gradients(backend: BackendId, arch: Arch, weights: Float32Array[], batch: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const o = { dropout: false, size: 16 };
  const model = arch.build(o);
  model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const shape = arch.inputShape(o);
  const x = tf.tensor(uniform([batch, ...shape], 11), [batch, ...shape]);
  const y = tf.tensor(oneHot(batch, 12), [batch, 10]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as Tensor).mean() as tf.Scalar,
    vars,
  );
  const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([value, x, y, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describe('gradients on wasm match cpu', () => {
  test.each(ARCHS.map((a) => [a.name, a] as const))('%s', async (_name, arch) => {
    // Build once on cpu to learn the weight shapes, then fill them from a seed.
    await tf.setBackend('cpu');
    const probe = arch.build({ dropout: false, size: 16 });
    const weights = probe.getWeights().map((w, i) => {
      const scale = w.shape.length === 1 ? 0.1 : Math.sqrt(3 / (w.size / w.shape[w.shape.length - 1]!));
      return uniform(w.shape, 1000 + i).map((v) => v * scale);
    });
    const names = probe.trainableWeights.map((w) => w.name);
    probe.dispose();

    const expected = await gradients('cpu', arch, weights, 8);
    const actual = await gradients('wasm', arch, weights, 8);
    expect(actual).toHaveLength(names.length);
    const worst = names.map((n, i) => ({ n, ...errorStats(actual[i]!, expected[i]!) }));
    names.forEach((name, i) => {
      const problem = firstMismatch(actual[i]!, expected[i]!, GRAD_TOLERANCE);
      expect({ name, problem, worst: worst[i] }).toEqual({ name, problem: undefined, worst: worst[i] });
    });
  });
});

describe('one fit epoch on 256 random examples runs on wasm', () => {
  const cases = ARCHS.flatMap((a) => Object.keys(OPTIMIZERS).map((opt) => [a.name, opt, a] as const));
  test.each(cases)('%s with %s', async (_name, opt, arch) => {
    await tf.setBackend('wasm');
    const o = { dropout: true };
    const model = arch.build(o);
    model.compile({ optimizer: OPTIMIZERS[opt as keyof typeof OPTIMIZERS](), loss: 'categoricalCrossentropy' });
    const shape = arch.inputShape(o);
    const x = tf.tensor(uniform([256, ...shape], 21), [256, ...shape]);
    const y = tf.tensor(oneHot(256, 22), [256, 10]);
    const before = model.trainableWeights.map((w) => (w.read() as Tensor).dataSync().slice());
    const history = await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    expect(tf.getBackend()).toBe('wasm');
    expect(Number.isFinite(history.history.loss![0] as number)).toBe(true);
    const unchanged = model.trainableWeights
      .filter((w, i) => (w.read() as Tensor).dataSync().every((v, j) => v === before[i]![j]))
      .map((w) => w.name);
    expect(unchanged).toEqual([]);
    tf.dispose([x, y]);
    model.dispose();
  });
});
