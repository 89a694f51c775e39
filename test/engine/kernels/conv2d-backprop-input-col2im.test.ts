/**
 * The col2im route of Conv2DBackpropInput (strides > 1, and stride-1 convs
 * whose padded-dy convolution would do >= COL2IM_MIN_WORK_RATIO times the
 * forward's work, e.g. LeNet-5's 'valid' conv2): col2imRows against a naive
 * scatter, and the kernel against the cpu backend over strides, paddings
 * ('same', 'valid', explicit, wider than the filter) and odd sizes, plus its
 * cleanup. Tolerance: KERNEL_TOLERANCE (rtol 1e-4, atol 1e-5). Where every
 * window is inside the image ('valid'), col2im runs as wasm SIMD
 * (col2im-simd.ts): bit for bit col2imRows' result.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { col2imValidSimdFor } from '../../../src/engine/kernels/col2im-simd.js';
import { COL2IM_MIN_WORK_RATIO } from '../../../src/engine/kernels/conv2d-backprop-input.js';
import { col2im } from '../../../src/engine/kernels/conv2d-col2im.js';
import { windowsInside } from '../../../src/engine/kernels/im2col.js';
import { col2imRows, patchColumns, patchRows } from '../../../src/engine/kernels/im2col.js';
import type { PatchGeometry } from '../../../src/engine/kernels/im2col.js';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { x: [3, 12, 12, 20], k: [5, 5], co: 50, stride: 1, pad: 'valid' }, // LeNet-5 conv2
  { x: [2, 9, 9, 3], k: [3, 3], co: 4, stride: 1, pad: 'valid' },
  { x: [2, 11, 13, 6], k: [5, 5], co: 8, stride: 2, pad: 'valid' }, // drops trailing rows/cols
  { x: [2, 11, 13, 6], k: [5, 5], co: 8, stride: 2, pad: 'same' },
  { x: [2, 9, 8, 3], k: [2, 3], co: 4, stride: [2, 1], pad: 'same' },
  { x: [2, 9, 10, 2], k: [3, 2], co: 4, stride: [1, 3], pad: 'valid' },
  { x: [2, 8, 8, 3], k: [3, 3], co: 2, stride: 2, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [1, 6, 7, 2], k: [3, 3], co: 2, stride: 2, pad: 4 }, // padding wider than the filter
  { x: [2, 7, 7, 4], k: [1, 1], co: 3, stride: 2, pad: 'valid' },
];

beforeAll(async () => {
  await setupBackends();
});

function geometryOf(c: Case): PatchGeometry {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k[0], c.k[1], c.x[3], c.co], c.stride, 1, c.pad);
  return {
    batch: c.x[0], inH: c.x[1], inW: c.x[2], channels: c.x[3], kh: c.k[0], kw: c.k[1],
    outH: info.outHeight, outW: info.outWidth, strideH: info.strideHeight, strideW: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

describe('col2im on the wasm heap: the SIMD route where windows are inside, same bits as col2imRows', () => {
  const inside = cases.filter((c) => windowsInside(geometryOf(c)));

  test('the SIMD function is available, and the five valid cases take it (window rows of 100, 9 = 8 + 1, 30 = 28 + 2, 4 and 4 floats)', async () => {
    await tf.setBackend('wasm');
    const memory = ((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: object } }).asm.memory;
    expect(col2imValidSimdFor(memory)).not.toBeNull();
    expect(inside).toHaveLength(5);
  });

  test.each(inside.map((c) => [JSON.stringify(c), c] as const))('%s', async (_label, c) => {
    await tf.setBackend('wasm');
    const g = geometryOf(c);
    const values = uniform([patchRows(g), patchColumns(g)], 11);
    const cols = tf.tensor(values);
    const dx = tf.zeros(c.x);
    const be = tf.backend() as BackendWasm;
    const view = (t: tf.Tensor) => be.typedArrayFromHeap(t as unknown as tf.TensorInfo) as Float32Array;
    col2im(be, view(cols), g, view(dx));
    const want = new Float32Array(dx.size);
    col2imRows(values, g, want);
    expect(Array.from(view(dx))).toEqual(Array.from(want));
    tf.dispose([cols, dx]);
  });
});

describe('col2imRows', () => {
  test.each(cases.map((c) => [JSON.stringify(c), c] as const))('matches a naive scatter: %s', (_label, c) => {
    const g = geometryOf(c);
    const strided = g.strideH !== 1 || g.strideW !== 1;
    expect(strided || (g.inH * g.inW) / (g.outH * g.outW) >= COL2IM_MIN_WORK_RATIO).toBe(true); // the route is taken
    const k = patchColumns(g);
    const cols = uniform([patchRows(g), k], 9);
    const got = new Float32Array(c.x.reduce((a, b) => a * b, 1));
    col2imRows(cols, g, got);
    const want = new Float32Array(got.length);
    for (let n = 0, m = 0; n < g.batch; n++) {
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++, m++) {
          for (let y = 0; y < g.kh; y++) {
            for (let xk = 0; xk < g.kw; xk++) {
              const ih = oh * g.strideH + y - g.padTop;
              const iw = ow * g.strideW + xk - g.padLeft;
              if (ih < 0 || ih >= g.inH || iw < 0 || iw >= g.inW) continue;
              for (let ci = 0; ci < g.channels; ci++) {
                const at = ((n * g.inH + ih) * g.inW + iw) * g.channels + ci;
                want[at] = want[at]! + cols[m * k + (y * g.kw + xk) * g.channels + ci]!;
              }
            }
          }
        }
      }
    }
    expect(firstMismatch(got, want, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

describe('Conv2DBackpropInput (wasm, col2im route) matches cpu', () => {
  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.co];
    const dyShape = await tf.setBackend('cpu').then(() =>
      tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape),
    );
    const inputs = {
      dy: { values: uniform(dyShape, 700 + i), shape: dyShape },
      filter: { values: uniform(filterShape, 800 + i), shape: filterShape },
    };
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropInput', inputs, attrs);
    expect(actual.shape).toEqual(c.x);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('frees the patch matrix (one new tensor per call)', async () => {
    await tf.setBackend('wasm');
    const dy = tf.tensor4d(uniform([2, 8, 8, 4], 1), [2, 8, 8, 4]);
    const filter = tf.tensor4d(uniform([5, 5, 3, 4], 2), [5, 5, 3, 4]);
    const be = tf.backend();
    const before = be.numDataIds();
    tf.env().set('IS_TEST', true); // makes the engine check the kernel for leaks
    try {
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [2, 12, 12, 3] }) as tf.Tensor;
      expect(dx.shape).toEqual([2, 12, 12, 3]);
      expect(be.numDataIds()).toBe(before + 1);
      dx.dispose();
    } finally {
      tf.env().set('IS_TEST', false);
      tf.dispose([dy, filter]);
    }
    expect(be.numDataIds()).toBe(before - 2);
  });
});
