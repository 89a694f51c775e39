/**
 * ClipByValue's replacement gradient (src/engine/kernels/clip-by-value-grad.ts):
 * one kernel on wasm, tfjs-core's composition on cpu, both equal to the
 * definition (dy where min <= x <= max, else 0), values exactly at the bounds
 * included; and ReLU6's gradient on wasm no longer runs the comparisons.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { CLIP_BY_VALUE_GRAD } from '../../../src/engine/kernels/clip-by-value-grad.js';
import { setupBackends, tf, uniform } from './helpers.js';
import type { BackendId } from './helpers.js';

beforeAll(async () => {
  await setupBackends();
});

describe.each(['wasm', 'cpu'] as BackendId[])('on %s', (backend) => {
  test.each([
    [0, 6, [2, 5, 5, 4]], // ReLU6
    [-0.25, 0.5, [3, 7]],
    [-1.5, -1, [10]],
  ] as const)('clip [%d, %d] over %j', async (min, max, shape) => {
    await tf.setBackend(backend);
    const xs = uniform(shape, 5).map((v) => v * 8);
    // Exactly at the bounds (inside, as in tfjs's >= and <=) and just outside them.
    xs.set([min, max, Math.fround(min) - 1e-3, Math.fround(max) + 1e-3], 0);
    const dys = uniform(shape, 6);
    const actual = tf.tidy(() => Array.from(tf.grad((x: Tensor) => tf.clipByValue(x, min, max))(tf.tensor(xs, [...shape]), tf.tensor(dys, [...shape])).dataSync()));
    const expected = Array.from(xs, (v, i) => (v >= Math.fround(min) && v <= Math.fround(max) ? dys[i]! : 0));
    expect(actual).toEqual(expected);
    expect(actual.slice(0, 4)).toEqual([dys[0], dys[1], 0, 0]);
  });
});

test('ReLU6 (relu then clipByValue) trains on wasm without the comparison kernels', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor(uniform([4, 6, 6, 8], 9).map((v) => v * 8), [4, 6, 6, 8]);
  const profile = await tf.profile(() => tf.tidy(() => tf.grad((t: Tensor) => tf.sum(tf.clipByValue(tf.relu(t), 0, 6)))(x).dataSync()));
  expect(profile.kernelNames).toContain(CLIP_BY_VALUE_GRAD);
  expect(profile.kernelNames.filter((k) => ['GreaterEqual', 'LessEqual', 'LogicalAnd', 'Select'].includes(k))).toEqual([]);
  x.dispose();
});
