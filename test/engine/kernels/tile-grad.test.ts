/**
 * Tile's replacement gradient (src/engine/kernels/tile-grad.ts) against the
 * definition (dx[j] = sum of dy over every output position that copies x[j],
 * computed here in plain JS), on wasm and cpu, ranks 1-5; and the reason it
 * exists: a LayerNormalization gradient no longer costs a Slice per
 * (example, time step).
 */
import { firstMismatch, KERNEL_TOLERANCE, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId } from './helpers.js';

beforeAll(async () => {
  await setupBackends(); // registers the gradient
});

/** dx by definition: walk every output index, add dy there into its source. */
function expectedGrad(shape: number[], reps: number[], dy: Float32Array): number[] {
  const out = shape.map((s, i) => s * reps[i]!);
  const dx = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  const idx = new Array<number>(out.length).fill(0);
  for (let o = 0; o < dy.length; o++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) src = src * shape[d]! + (idx[d]! % shape[d]!);
    dx[src]! += dy[o]!;
    for (let d = out.length - 1; d >= 0; d--) {
      if (++idx[d]! < out[d]!) break;
      idx[d] = 0;
    }
  }
  return dx;
}

const cases: [number[], number[]][] = [
  [[3], [4]],
  [[2, 3], [3, 1]],
  [[1, 1, 5], [4, 6, 1]], // LayerNormalization's gamma over [batch, time]
  [[4, 6, 1], [1, 1, 5]], // its mean over the features
  [[2, 1, 3, 2], [1, 3, 1, 2]],
  [[2, 1, 2, 1, 2], [2, 2, 1, 3, 1]], // rank 5: the stock gradient throws here
];

describe.each(['wasm', 'cpu'] as BackendId[])('on %s', (backend) => {
  test.each(cases)('x %j tiled %j', async (shape, reps) => {
    await tf.setBackend(backend);
    const outShape = shape.map((s, i) => s * reps[i]!);
    const dyValues = uniform(outShape, 7);
    const actual = tf.tidy(() => {
      const x = tf.tensor(uniform(shape, 3), shape);
      const dy = tf.tensor(dyValues, outShape);
      const g = tf.grad((t: tf.Tensor) => tf.tile(t, reps))(x, dy);
      return Array.from(g.dataSync());
    });
    expect(firstMismatch(actual, expectedGrad(shape, reps, dyValues), KERNEL_TOLERANCE)).toBeUndefined();
  });
});

test('a LayerNormalization gradient on [16, 28, 32] runs without per-position slices', async () => {
  await tf.setBackend('wasm');
  const x = tf.variable(tf.tensor(uniform([16, 28, 32], 5), [16, 28, 32]));
  const norm = tf.layers.layerNormalization();
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => (norm.apply(x) as tf.Tensor).square().sum() as tf.Scalar);
    tf.dispose([value, ...Object.values(grads)]);
  });
  // Stock: 2 * 16 * 28 + 2 * 32 = 960 Slice calls.
  expect(profile.kernels.filter((k) => k.name === 'Slice').length).toBe(0);
  x.dispose();
});
