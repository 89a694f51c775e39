/**
 * The im2col route of Conv2DBackpropFilter (one input channel): the patch
 * matrix against a naive gather, and the kernel against the cpu backend over
 * strides, 'same'/'valid'/explicit paddings (including padding wider than the
 * filter, where whole patch rows are zero) and odd sizes. Also: the route is
 * really taken for these shapes, not for more channels, and it frees its
 * patch matrix. Tolerance: KERNEL_TOLERANCE (rtol 1e-4, atol 1e-5). On the
 * wasm heap, 'valid' windows with width stride 1 are copied by wasm SIMD
 * (im2col-simd.ts): the same bits as im2colColumns.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { im2colColumnsOnHeap } from '../../../src/engine/kernels/conv2d-im2col.js';
import { im2colValid1SimdFor } from '../../../src/engine/kernels/im2col-simd.js';
import { im2colColumns, im2colPays, patchColumns, patchRows } from '../../../src/engine/kernels/im2col.js';
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
  { x: [4, 28, 28, 1], k: [5, 5], co: 20, stride: 1, pad: 'valid' }, // LeNet-5 conv1
  { x: [3, 28, 28, 1], k: [5, 5], co: 6, stride: 1, pad: 'same' }, // LeNet-5 (LeCun) conv1
  { x: [2, 11, 13, 1], k: [5, 5], co: 3, stride: 2, pad: 'valid' }, // drops trailing rows/cols
  { x: [2, 11, 13, 1], k: [5, 5], co: 3, stride: 2, pad: 'same' },
  { x: [2, 9, 8, 1], k: [2, 3], co: 4, stride: [2, 1], pad: 'same' }, // non-square everything
  { x: [2, 9, 8, 1], k: [3, 2], co: 4, stride: [1, 3], pad: 'valid' },
  { x: [1, 6, 7, 1], k: [3, 3], co: 2, stride: 1, pad: 4 }, // padding wider than the filter
  { x: [2, 8, 8, 1], k: [3, 3], co: 2, stride: 2, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [2, 5, 5, 1], k: [1, 1], co: 3, stride: 1, pad: 'valid' },
  { x: [2, 11, 13, 1], k: [3, 4], co: 3, stride: [2, 1], pad: 'valid' }, // rows of 10 floats: 8 + 2
];

beforeAll(async () => {
  await setupBackends();
});

/** The geometry the kernel derives, from tfjs' own conv info. */
function geometryOf(c: Case): PatchGeometry {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k[0], c.k[1], c.x[3], c.co], c.stride, 1, c.pad);
  return {
    batch: c.x[0], inH: c.x[1], inW: c.x[2], channels: c.x[3], kh: c.k[0], kw: c.k[1],
    outH: info.outHeight, outW: info.outWidth, strideH: info.strideHeight, strideW: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

describe('im2colColumnsOnHeap: the SIMD copy for valid windows and width stride 1, same bits as im2colColumns', () => {
  const simdCases = cases.filter((c) => c.pad === 'valid' && (Array.isArray(c.stride) ? c.stride[1] : c.stride) === 1);

  test('the SIMD function is available, and three cases take it (rows of 24, 5 = 4 + 1 and 10 = 8 + 2 floats)', async () => {
    await tf.setBackend('wasm');
    const memory = ((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: object } }).asm.memory;
    expect(im2colValid1SimdFor(memory)).not.toBeNull();
    expect(simdCases).toHaveLength(3);
  });

  test.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_label, c) => {
    await tf.setBackend('wasm');
    const g = geometryOf(c);
    const values = uniform(c.x, 13);
    const x = tf.tensor(values, c.x);
    const out = tf.fill([patchColumns(g) * patchRows(g)], NaN);
    const be = tf.backend() as BackendWasm;
    const view = (t: tf.Tensor) => be.typedArrayFromHeap(t as unknown as tf.TensorInfo) as Float32Array;
    im2colColumnsOnHeap(be, view(x), g, view(out));
    const want = new Float32Array(out.size);
    im2colColumns(values, g, want);
    expect(Array.from(view(out))).toEqual(Array.from(want));
    tf.dispose([x, out]);
  });
});

describe('im2colColumns', () => {
  test.each(cases.map((c) => [JSON.stringify(c), c] as const))('matches a naive gather: %s', (_label, c) => {
    const g = geometryOf(c);
    expect(im2colPays(g)).toBe(true);
    const x = uniform(c.x, 7);
    const m = patchRows(g);
    const got = new Float32Array(patchColumns(g) * m).fill(NaN);
    im2colColumns(x, g, got);
    let k = 0;
    for (let y = 0; y < g.kh; y++) {
      for (let xk = 0; xk < g.kw; xk++, k++) {
        for (let n = 0; n < g.batch; n++) {
          for (let oh = 0; oh < g.outH; oh++) {
            for (let ow = 0; ow < g.outW; ow++) {
              const ih = oh * g.strideH + y - g.padTop;
              const iw = ow * g.strideW + xk - g.padLeft;
              const want = ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW ? x[(n * g.inH + ih) * g.inW + iw]! : 0;
              const at = k * m + (n * g.outH + oh) * g.outW + ow;
              if (got[at] !== want) throw new Error(`patch (${y},${xk}) pixel (${n},${oh},${ow}): got ${got[at]}, want ${want}`);
            }
          }
        }
      }
    }
  });

  test('is not taken for more than one channel', () => {
    expect(im2colPays(geometryOf({ x: [2, 12, 12, 3], k: [5, 5], co: 4, stride: 1, pad: 'valid' }))).toBe(false);
  });
});

describe('Conv2DBackpropFilter (wasm, im2col route) matches cpu', () => {
  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.co];
    const dyShape = await tf.setBackend('cpu').then(() =>
      tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape),
    );
    const inputs = {
      x: { values: uniform(c.x, 500 + i), shape: c.x },
      dy: { values: uniform(dyShape, 600 + i), shape: dyShape },
    };
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape } as NamedAttrMap;
    const expected = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    const actual = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    expect(actual.shape).toEqual(filterShape);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('frees the patch matrix (one new tensor per call)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(uniform([2, 12, 12, 1], 1), [2, 12, 12, 1]);
    const dy = tf.tensor4d(uniform([2, 8, 8, 4], 2), [2, 8, 8, 4]);
    const be = tf.backend();
    const before = be.numDataIds();
    tf.env().set('IS_TEST', true); // makes the engine check the kernel for leaks
    try {
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [5, 5, 1, 4] }) as tf.Tensor;
      expect(dw.shape).toEqual([5, 5, 1, 4]);
      expect(be.numDataIds()).toBe(before + 1);
      dw.dispose();
    } finally {
      tf.env().set('IS_TEST', false);
      tf.dispose([x, dy]);
    }
    expect(be.numDataIds()).toBe(before - 2);
  });
});
