/**
 * Conv2DBackpropFilter on wasm (ours) vs the cpu backend's reference kernel,
 * table-driven over shapes, filter sizes, strides 1/2, 'same'/'valid' and
 * explicit padding. Tolerance: KERNEL_TOLERANCE (rtol 1e-4, atol 1e-5).
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [];
for (const stride of [1, 2] as const) {
  for (const pad of ['same', 'valid'] as const) {
    cases.push(
      { x: [2, 9, 9, 3], k: [3, 3], co: 4, stride, pad },
      { x: [3, 12, 10, 1], k: [5, 5], co: 6, stride, pad }, // LeNet first layer (Ci = 1)
      { x: [2, 11, 13, 6], k: [5, 5], co: 16, stride, pad }, // odd sizes: 'valid' stride 2 drops rows
      { x: [1, 7, 8, 2], k: [2, 3], co: 3, stride, pad }, // non-square, even filter
      { x: [4, 6, 6, 5], k: [1, 1], co: 7, stride, pad },
    );
  }
}
cases.push(
  { x: [2, 8, 9, 3], k: [3, 3], co: 4, stride: [2, 1], pad: 'same' },
  { x: [2, 8, 8, 3], k: [3, 3], co: 2, stride: 1, pad: 1 },
  { x: [2, 9, 9, 3], k: [3, 3], co: 2, stride: 2, pad: 2 },
  { x: [2, 8, 8, 2], k: [3, 3], co: 2, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
);

beforeAll(async () => {
  await setupBackends();
});

describe('Conv2DBackpropFilter (wasm) matches cpu', () => {
  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const [kh, kw] = c.k;
    const filterShape: [number, number, number, number] = [kh, kw, c.x[3], c.co];
    const dyShape = await tf.setBackend('cpu').then(() =>
      tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape),
    );
    const inputs = {
      x: { values: uniform(c.x, 100 + i), shape: c.x },
      dy: { values: uniform(dyShape, 200 + i), shape: dyShape },
    };
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    expect(actual.shape).toEqual(filterShape);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('frees every intermediate (one new tensor per call, no leaked wasm data)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(uniform([2, 9, 9, 3], 1), [2, 9, 9, 3]);
    const dy = tf.tensor4d(uniform([2, 4, 4, 4], 2), [2, 4, 4, 4]);
    const be = tf.backend();
    const before = be.numDataIds();
    tf.env().set('IS_TEST', true); // makes the engine check the kernel for leaks
    try {
      const dw = tf.engine().runKernel(
        'Conv2DBackpropFilter', { x, dy },
        { strides: 2, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
      ) as tf.Tensor;
      expect(be.numDataIds()).toBe(before + 1);
      dw.dispose();
    } finally {
      tf.env().set('IS_TEST', false);
      x.dispose();
      dy.dispose();
    }
    expect(be.numDataIds()).toBe(before - 2);
  });
});
