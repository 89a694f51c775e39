/**
 * BatchMatMul on wasm (ours) vs the cpu backend, table-driven over every
 * transposeA/transposeB combination, the Dense layer shapes of LeNet-300-100
 * (weight gradient = transposeA, input gradient = transposeB), odd sizes,
 * and batch dimensions (including broadcasting a batch of 1), and products
 * with a large transposed B (computed as (B A^T)^T). Unbatched
 * products go through XNNPACK, which sums in its own order: within float
 * tolerance of cpu. Batched ones stay on the stock scalar loop with only
 * their layout changed: bit-identical to the stock kernel.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { firstMismatch, KERNEL_TOLERANCE, setupBackends, tf, uniform } from './helpers.js';

interface Case {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

const combos = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

/** a/b shapes for [m, k] x [k, n] with the given transposes (and leading batch dims). */
function shapes(batchA: number[], batchB: number[], m: number, k: number, n: number, ta: boolean, tb: boolean): Case {
  return { a: [...batchA, ...(ta ? [k, m] : [m, k])], b: [...batchB, ...(tb ? [n, k] : [k, n])], transposeA: ta, transposeB: tb };
}

const cases: Case[] = [
  // LeNet-300-100 at batch 64: forward, weight gradient, input gradient.
  shapes([], [], 64, 784, 300, false, false),
  shapes([], [], 784, 64, 300, true, false),
  shapes([], [], 64, 300, 784, false, true),
  // LeNet-5's fc1 input gradient, and an odd-sized one: B larger than A and C, so computed as (B A^T)^T.
  shapes([], [], 64, 500, 800, false, true),
  shapes([1], [1], 3, 11, 40, false, true),
  ...combos.map(([ta, tb]) => shapes([], [], 7, 13, 5, ta, tb)),
  ...combos.map(([ta, tb]) => shapes([], [], 1, 50, 1, ta, tb)),
  ...combos.map(([ta, tb]) => shapes([3], [3], 4, 9, 6, ta, tb)),
  ...combos.map(([ta, tb]) => shapes([2, 2], [2, 2], 5, 3, 4, ta, tb)),
  shapes([1], [1], 6, 5, 4, true, false),
  shapes([3], [1], 4, 5, 6, true, false), // b's batch of 1 broadcast
];

let stock: KernelConfig | undefined;

beforeAll(async () => {
  // The stock kernel, kept before ours replaces it (the bit-identity check below calls it).
  stock = tf.getKernel('BatchMatMul', 'wasm');
  await setupBackends();
});

function product(c: Case, seed: number): tf.Tensor {
  const a = tf.tensor(uniform(c.a, seed), c.a);
  const b = tf.tensor(uniform(c.b, seed + 1), c.b);
  return tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: c.transposeA, transposeB: c.transposeB }) as tf.Tensor;
}

async function on(backend: 'cpu' | 'wasm', c: Case, seed: number): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const y = product(c, seed);
    return { shape: y.shape.slice(), values: y.dataSync() as Float32Array };
  });
}

test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('BatchMatMul %s matches cpu', async (_label, c, i) => {
  const expected = await on('cpu', c, 10 * i);
  const actual = await on('wasm', c, 10 * i);
  expect(actual.shape).toEqual(expected.shape);
  expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
});

const batched = cases.filter((c) => c.a.length > 2 && (c.a[0]! > 1 || c.b[0]! > 1));

test.each(batched.map((c, i) => [JSON.stringify(c), c, i] as const))('batched %s is bit-identical to the stock kernel', async (_label, c, i) => {
  await tf.setBackend('wasm');
  const ours = tf.getKernel('BatchMatMul', 'wasm');
  expect(ours).not.toBe(stock);
  const mine = tf.tidy(() => product(c, 100 + i).dataSync());
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(stock!);
  try {
    const theirs = tf.tidy(() => product(c, 100 + i).dataSync());
    expect(Array.from(mine)).toEqual(Array.from(theirs));
  } finally {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(ours);
  }
});

test('one new tensor per call, no leaked wasm data', async () => {
  await tf.setBackend('wasm');
  const a = tf.tensor2d(uniform([6, 4], 1), [6, 4]);
  const b = tf.tensor2d(uniform([6, 3], 2), [6, 3]);
  const be = tf.backend();
  const before = be.numDataIds();
  tf.env().set('IS_TEST', true);
  try {
    const y = tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: true, transposeB: false }) as tf.Tensor;
    expect(y.shape).toEqual([4, 3]);
    expect(be.numDataIds()).toBe(before + 1);
    y.dispose();
  } finally {
    tf.env().set('IS_TEST', false);
    tf.dispose([a, b]);
  }
  expect(be.numDataIds()).toBe(before - 2);
});
