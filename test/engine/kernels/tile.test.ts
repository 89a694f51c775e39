/**
 * Tile on wasm (ours) vs the cpu backend, table-driven over ranks 1-5,
 * dtypes float32/int32/bool, reps of 1, the [1,1,1,C] -> [N,H,W,C] broadcast
 * of the batch-norm gradient, and empty outputs. Tile copies values, so the
 * results must be identical, not merely close.
 */
import { setupBackends, tf, uniform } from './helpers.js';

interface Case {
  shape: number[];
  reps: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

const cases: Case[] = [
  { shape: [1, 1, 1, 8], reps: [4, 5, 6, 1], dtype: 'float32' }, // the batch-norm gradient's broadcast
  { shape: [3], reps: [4], dtype: 'float32' },
  { shape: [2, 3], reps: [3, 2], dtype: 'float32' },
  { shape: [2, 3, 4], reps: [1, 1, 1], dtype: 'float32' },
  { shape: [2, 1, 3], reps: [2, 5, 1], dtype: 'int32' },
  { shape: [2, 2, 3, 2, 2], reps: [2, 1, 3, 1, 2], dtype: 'float32' },
  { shape: [3, 2], reps: [7, 3], dtype: 'bool' },
  { shape: [2, 3], reps: [0, 2], dtype: 'float32' },
  { shape: [], reps: [], dtype: 'float32' },
];

beforeAll(async () => {
  await setupBackends();
});

async function tileOn(backend: 'cpu' | 'wasm', c: Case, values: Float32Array): Promise<{ shape: number[]; values: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const raw = Array.from(values.subarray(0, n), (v) => (c.dtype === 'float32' ? v : c.dtype === 'int32' ? Math.round(v * 100) : Number(v > 0)));
    const x = tf.tensor(raw, c.shape, c.dtype);
    const y = tf.engine().runKernel('Tile', { x }, { reps: c.reps }) as tf.Tensor;
    return { shape: y.shape.slice(), values: Array.from(y.dataSync()) };
  });
}

test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('Tile %s matches cpu exactly', async (_label, c, i) => {
  const values = uniform([Math.max(1, c.shape.reduce((a, b) => a * b, 1))], 50 + i);
  const expected = await tileOn('cpu', c, values);
  const actual = await tileOn('wasm', c, values);
  expect(actual).toEqual(expected);
});

test('one new tensor per call, no leaked wasm data', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor4d(uniform([1, 1, 1, 4], 1), [1, 1, 1, 4]);
  const be = tf.backend();
  const before = be.numDataIds();
  tf.env().set('IS_TEST', true);
  try {
    const y = tf.engine().runKernel('Tile', { x }, { reps: [2, 3, 3, 1] }) as tf.Tensor;
    expect(be.numDataIds()).toBe(before + 1);
    y.dispose();
  } finally {
    tf.env().set('IS_TEST', false);
    x.dispose();
  }
  expect(be.numDataIds()).toBe(before - 1);
});
