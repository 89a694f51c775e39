/**
 * DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput
 * on wasm (ours) vs the cpu backend's reference kernels, table-driven over
 * the shapes a MobileNetV2 uses (3x3, stride 1 'same' and stride 2 'valid'
 * after ZeroPadding2D), odd sizes, channel multipliers > 1, non-square
 * filters and explicit padding. Tolerance: KERNEL_TOLERANCE.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { depthwiseBackpropInputByConv } from '../../../src/engine/kernels/depthwise-conv2d-backprop-input-conv.js';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
type Shape4 = [number, number, number, number];

interface Case {
  x: Shape4;
  k: [number, number];
  mult: number;
  stride: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [];
for (const stride of [1, 2] as const) {
  for (const pad of ['same', 'valid'] as const) {
    cases.push(
      { x: [2, 9, 9, 8], k: [3, 3], mult: 1, stride, pad }, // MobileNetV2 depthwise
      { x: [3, 8, 8, 16], k: [3, 3], mult: 1, stride, pad }, // even size, as after ZeroPadding2D
      { x: [2, 11, 7, 3], k: [3, 3], mult: 2, stride, pad }, // odd sizes, channel multiplier 2
      { x: [1, 7, 8, 2], k: [2, 5], mult: 3, stride, pad }, // non-square, even filter height
      { x: [2, 5, 5, 4], k: [1, 1], mult: 1, stride, pad },
    );
  }
}
cases.push(
  { x: [2, 8, 9, 3], k: [3, 3], mult: 1, stride: [2, 1], pad: 'same' },
  { x: [2, 8, 8, 3], k: [3, 3], mult: 1, stride: 1, pad: 1 },
  { x: [2, 9, 9, 3], k: [3, 3], mult: 2, stride: 2, pad: 2 },
  { x: [2, 8, 8, 2], k: [3, 3], mult: 1, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [16, 12, 12, 24], k: [3, 3], mult: 1, stride: 1, pad: 'same' }, // long sums (16*144 terms per dW)
);

beforeAll(async () => {
  await setupBackends();
});

/** The forward output shape on cpu (the shape dy has in a real backward pass). */
async function dyShapeOf(c: Case, filterShape: Shape4): Promise<number[]> {
  await tf.setBackend('cpu');
  return tf.tidy(() =>
    tf.depthwiseConv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape,
  );
}

const labelled = cases.map((c, i) => [JSON.stringify(c), c, i] as const);

describe('DepthwiseConv2dNativeBackpropFilter (wasm) matches cpu', () => {
  test.each(labelled)('%s', async (_label, c, i) => {
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult];
    const dyShape = await dyShapeOf(c, filterShape);
    const inputs = {
      x: { values: uniform(c.x, 100 + i), shape: c.x },
      dy: { values: uniform(dyShape, 200 + i), shape: dyShape },
    };
    const attrs = { strides: c.stride, dilations: 1, pad: c.pad, filterShape } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
    const actual = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
    expect(actual.shape).toEqual(filterShape);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

describe('DepthwiseConv2dNativeBackpropInput (wasm) matches cpu', () => {
  test.each(labelled)('%s', async (_label, c, i) => {
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult];
    const dyShape = await dyShapeOf(c, filterShape);
    const inputs = {
      dy: { values: uniform(dyShape, 300 + i), shape: dyShape },
      filter: { values: uniform(filterShape, 400 + i), shape: filterShape },
    };
    const attrs = { strides: c.stride, dilations: 1, pad: c.pad, inputShape: c.x } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
    const actual = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
    expect(actual.shape).toEqual(c.x);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

describe('the XNNPACK route of the input gradient', () => {
  // The table above goes through the kernel, which picks the route itself; this pins which cases take it.
  const route = (c: Case) => {
    const filterShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult];
    const info = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.stride, 1, c.pad, undefined, true, 'channelsLast');
    return tf.tidy(() => {
      const dy = tf.zeros([c.x[0], info.outHeight, info.outWidth, c.x[3] * c.mult]);
      const dx = depthwiseBackpropInputByConv(tf, tf.backend() as BackendWasm, dy, tf.zeros(filterShape), info);
      if (dx === undefined) return undefined;
      const shape = dx.shape.slice();
      tf.backend().disposeData(dx.dataId);
      return shape;
    });
  };
  // Multiplier 1 and no padding wider than the filter less one (the flipped conv's padding would be negative).
  const fits = (c: Case) => c.mult === 1 && (!Array.isArray(c.pad) || c.pad.slice(1, 3).every(([a, b], i) => Math.max(a, b) <= c.k[i]! - 1));
  test.each(labelled.filter(([, c]) => fits(c)))('takes %s', async (_label, c) => {
    await tf.setBackend('wasm');
    expect(route(c)).toEqual(c.x);
  });
  test.each(labelled.filter(([, c]) => !fits(c)))('leaves %s to the loop', async (_label, c) => {
    await tf.setBackend('wasm');
    expect(route(c)).toBeUndefined();
  });
});

describe('the depthwise gradients through tf.grads match cpu', () => {
  // The path a layer takes: the op's registered gradient calls both kernels.
  test('stride 2, valid, multiplier 1', async () => {
    const x = uniform([2, 10, 10, 6], 1);
    const w = uniform([3, 3, 6, 1], 2);
    const run = (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> =>
      tf.setBackend(backend).then(() =>
        tf.tidy(() => {
          const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
            tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid').square().sum();
          const [gx, gw] = tf.grads(f)([tf.tensor4d(x, [2, 10, 10, 6]), tf.tensor4d(w, [3, 3, 6, 1])]);
          return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array];
        }),
      );
    const [cx, cw] = await run('cpu');
    const [wx, ww] = await run('wasm');
    expect(firstMismatch(wx!, cx!, KERNEL_TOLERANCE)).toBeUndefined();
    expect(firstMismatch(ww!, cw!, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

describe('leaks', () => {
  test.each(['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'])(
    '%s: one new tensor per call, no leaked wasm data',
    async (name) => {
      await tf.setBackend('wasm');
      const x = tf.tensor4d(uniform([2, 9, 9, 3], 1), [2, 9, 9, 3]);
      const filter = tf.tensor4d(uniform([3, 3, 3, 1], 3), [3, 3, 3, 1]);
      const dy = tf.tensor4d(uniform([2, 4, 4, 3], 2), [2, 4, 4, 3]);
      const be = tf.backend();
      const before = be.numDataIds();
      tf.env().set('IS_TEST', true); // makes the engine check the kernel for leaks
      try {
        const attrs = { strides: 2, dilations: 1, pad: 'valid', filterShape: [3, 3, 3, 1], inputShape: [2, 9, 9, 3] };
        const ins: tf.NamedTensorMap = name === 'DepthwiseConv2dNativeBackpropFilter' ? { x, dy } : { dy, filter };
        const out = tf.engine().runKernel(name, ins, attrs) as tf.Tensor;
        expect(be.numDataIds()).toBe(before + 1);
        out.dispose();
      } finally {
        tf.env().set('IS_TEST', false);
        tf.dispose([x, filter, dy]);
      }
      expect(be.numDataIds()).toBe(before - 3);
    },
  );
});
