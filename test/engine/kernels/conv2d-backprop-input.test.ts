/**
 * Conv2DBackpropInput on wasm (ours: XNNPACK conv or matmul + col2im, the
 * stock kernel for the rest) vs the cpu backend, table-driven over shapes, filter
 * sizes, strides 1/2, 'same'/'valid' and explicit padding (including one wide
 * enough to take the fallback). Tolerance: KERNEL_TOLERANCE (rtol 1e-4, atol 1e-5).
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: Shape4;
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
      { x: [3, 12, 10, 1], k: [5, 5], co: 6, stride, pad },
      { x: [2, 11, 13, 6], k: [5, 5], co: 16, stride, pad },
      { x: [1, 7, 8, 2], k: [2, 3], co: 3, stride, pad },
      { x: [4, 6, 6, 5], k: [1, 1], co: 7, stride, pad },
    );
  }
}
cases.push(
  { x: [2, 8, 9, 3], k: [3, 3], co: 4, stride: [1, 2], pad: 'same' },
  { x: [2, 8, 8, 3], k: [3, 3], co: 2, stride: 1, pad: 1 },
  { x: [2, 8, 8, 2], k: [3, 3], co: 2, stride: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { x: [2, 8, 8, 2], k: [3, 3], co: 2, stride: 1, pad: [[0, 0], [0, 3], [0, 0], [0, 0]] }, // fallback
);

beforeAll(async () => {
  await setupBackends();
});

describe('Conv2DBackpropInput (wasm) matches cpu', () => {
  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.co];
    await tf.setBackend('cpu');
    const dyShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape);
    const inputs = {
      dy: { values: uniform(dyShape, 500 + i), shape: dyShape },
      filter: { values: uniform(filterShape, 600 + i), shape: filterShape },
    };
    const attrs = { inputShape: c.x, strides: c.stride, pad: c.pad, dataFormat: 'NHWC' } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropInput', inputs, attrs);
    expect(actual.shape).toEqual(c.x);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('frees every intermediate (one new tensor per call)', async () => {
    await tf.setBackend('wasm');
    const dy = tf.tensor4d(uniform([2, 9, 9, 4], 1), [2, 9, 9, 4]);
    const filter = tf.tensor4d(uniform([3, 3, 3, 4], 2), [3, 3, 3, 4]);
    const be = tf.backend();
    const before = be.numDataIds();
    tf.env().set('IS_TEST', true); // makes the engine check the kernel for leaks
    try {
      const dx = tf.engine().runKernel(
        'Conv2DBackpropInput', { dy, filter },
        { inputShape: [2, 9, 9, 3], strides: 1, pad: 'same', dataFormat: 'NHWC' },
      ) as tf.Tensor;
      expect(be.numDataIds()).toBe(before + 1);
      dx.dispose();
    } finally {
      tf.env().set('IS_TEST', false);
      tf.dispose([dy, filter]);
    }
  });
});
