/**
 * The 1x1 conv gradients as matmuls (src/engine/kernels/conv2d-1x1.ts): which
 * convs take that route, and both gradient kernels on MobileNetV2's 1x1
 * shapes (expand, project, the 1280-wide head) against the cpu backend. The
 * general tables (conv2d-backprop-filter/-input.test.ts) also run small 1x1
 * cases at strides 1 and 2 through the kernels.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { isPointwise } from '../../../src/engine/kernels/conv2d-1x1.js';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

type Shape4 = [number, number, number, number];

beforeAll(async () => {
  await setupBackends();
});

test.each([
  [[1, 1], 1, 'same', true],
  [[1, 1], 1, 'valid', true],
  [[1, 1], 2, 'same', false], // strided: dy skips pixels
  [[1, 1], 1, 1, false], // explicit padding: dx has border pixels dy never saw
  [[3, 3], 1, 'same', false],
  [[1, 3], 1, 'valid', false],
] as const)('filter %j stride %d pad %j: takes the matmul route = %s', (k, stride, pad, expected) => {
  const info = tf.backend_util.computeConv2DInfo([2, 6, 6, 4], [k[0], k[1], 4, 5], stride, 1, pad);
  expect(isPointwise(info)).toBe(expected);
});

describe.each([
  [[32, 8, 8, 8], 48], // expand
  [[32, 4, 4, 96], 16], // project
  [[8, 1, 1, 112], 1280], // the head conv
  [[3, 5, 7, 6], 4], // odd sizes
] as [Shape4, number][])('x %j -> %d channels', (x, co) => {
  const filterShape: Shape4 = [1, 1, x[3], co];
  const dyShape: Shape4 = [x[0], x[1], x[2], co];
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };

  test('Conv2DBackpropFilter matches cpu', async () => {
    const inputs = { x: { values: uniform(x, 1), shape: x }, dy: { values: uniform(dyShape, 2), shape: dyShape } };
    const a = { ...attrs, filterShape } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, a);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, a);
    expect(actual.shape).toEqual(filterShape);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('Conv2DBackpropInput matches cpu', async () => {
    const inputs = { dy: { values: uniform(dyShape, 3), shape: dyShape }, filter: { values: uniform(filterShape, 4), shape: filterShape } };
    const a = { ...attrs, inputShape: x } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, a);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropInput', inputs, a);
    expect(actual.shape).toEqual(x);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

test('one new tensor per call, no leaked wasm data', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor4d(uniform([2, 4, 4, 6], 1), [2, 4, 4, 6]);
  const dy = tf.tensor4d(uniform([2, 4, 4, 5], 2), [2, 4, 4, 5]);
  const filter = tf.tensor4d(uniform([1, 1, 6, 5], 3), [1, 1, 6, 5]);
  const be = tf.backend();
  const before = be.numDataIds();
  tf.env().set('IS_TEST', true); // makes the engine check kernels for leaks
  try {
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [1, 1, 6, 5] }) as tf.Tensor;
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 4, 4, 6] }) as tf.Tensor;
    expect(be.numDataIds()).toBe(before + 2);
    expect([dw.shape, dx.shape]).toEqual([[1, 1, 6, 5], [2, 4, 4, 6]]);
    tf.dispose([dw, dx]);
  } finally {
    tf.env().set('IS_TEST', false);
    tf.dispose([x, dy, filter]);
  }
  expect(be.numDataIds()).toBe(before - 3);
});
