/**
 * MaxPoolGrad on wasm (our replacement) vs the cpu backend, table-driven over
 * shapes, filter sizes 2/3, strides 1/2, 'same'/'valid'; plus ties and the
 * stock wasm kernel's bug. Tolerance: KERNEL_TOLERANCE (rtol 1e-4, atol 1e-5).
 * The chosen positions are the same; sums differ only in the last bits where
 * several windows send their gradient to one pixel (cpu adds in float64).
 * 2x2/2 pools that tile the input with >= 4 channels take the wasm SIMD path
 * (max-pool-grad-simd.ts): there the result is the cpu's, bit for bit
 * (each pixel gets at most one window's dy), including ties, NaN, -inf and
 * -0, over channel counts that are and are not multiples of 4.
 */
import type { KernelConfig, NamedAttrMap } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { maxPoolGrad2x2SimdFor } from '../../../src/engine/kernels/max-pool-grad-simd.js';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';
import type { HostTensor } from './helpers.js';

interface Case {
  x: [number, number, number, number];
  filter: number;
  stride: number;
  pad: 'same' | 'valid';
}

const shapes: Case['x'][] = [
  [2, 8, 8, 3],
  [1, 7, 9, 2], // odd sizes: 'same' pads unevenly, 'valid' drops edges
  [3, 6, 5, 8],
];
const cases: Case[] = [];
for (const x of shapes) {
  for (const filter of [2, 3]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) cases.push({ x, filter, stride, pad });
    }
  }
}

/** The stock wasm kernel, captured before registerWasmTrainingKernels replaces it. */
const stock: KernelConfig = tf.getKernel('MaxPoolGrad', 'wasm');

beforeAll(async () => {
  await setupBackends();
});

async function inputsFor(x: HostTensor, c: Omit<Case, 'x'>, dySeed: number): Promise<Record<string, HostTensor>> {
  const output = await runKernelOn('cpu', 'MaxPool', { x }, { filterSize: c.filter, strides: c.stride, pad: c.pad });
  return { input: x, output, dy: { values: uniform(output.shape, dySeed), shape: output.shape } };
}

describe('MaxPoolGrad (wasm) matches cpu', () => {
  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const inputs = await inputsFor({ values: uniform(c.x, 300 + i), shape: c.x }, c, 400 + i);
    const attrs: NamedAttrMap = { filterSize: c.filter, strides: c.stride, pad: c.pad };
    const expected = await runKernelOn('cpu', 'MaxPoolGrad', inputs, attrs);
    const actual = await runKernelOn('wasm', 'MaxPoolGrad', inputs, attrs);
    expect(actual.shape).toEqual(c.x);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('ties go to the first maximum, like cpu (relu zeros, repeated values)', async () => {
    const shape = [2, 6, 6, 4];
    const values = uniform(shape, 7).map((v) => Math.max(0, Math.round(v * 2) / 2)); // {0, 0.5, 1}
    const c = { filter: 3, stride: 1, pad: 'same' as const };
    const inputs = await inputsFor({ values, shape }, c, 8);
    const attrs: NamedAttrMap = { filterSize: c.filter, strides: c.stride, pad: c.pad };
    const expected = await runKernelOn('cpu', 'MaxPoolGrad', inputs, attrs);
    const actual = await runKernelOn('wasm', 'MaxPoolGrad', inputs, attrs);
    expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
  });

  test('stock wasm kernel still loses the gradient of all-negative windows (drop our override once this fails)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([-1, -2, -3, -0.5], [1, 2, 2, 1]);
    const dy = tf.tensor4d([1], [1, 1, 1, 1]);
    const y = tf.maxPool(x, 2, 2, 'valid');
    const args = { inputs: { dy, input: x, output: y }, attrs: { filterSize: 2, strides: 2, pad: 'valid' } };
    const be = tf.backend() as BackendWasm;
    stock.setupFunc?.(be); // it was unregistered before the backend ran its setup
    const bad = stock.kernelFunc({ ...args, backend: be }) as tf.TensorInfo;
    const good = tf.engine().runKernel('MaxPoolGrad', args.inputs, args.attrs) as tf.Tensor;
    expect(Array.from(be.readSync(bad.dataId) as Float32Array)).toEqual([1, 0, 0, 0]); // should be [0, 0, 0, 1]
    expect(Array.from(good.dataSync())).toEqual([0, 0, 0, 1]);
    be.disposeData(bad.dataId);
    tf.dispose([x, dy, y, good]);
  });
});

describe('MaxPoolGrad (wasm) 2x2/2 tiling pools: the SIMD path, bit for bit with cpu', () => {
  const simdCases: { x: [number, number, number, number]; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 4], pad: 'valid' },
    { x: [3, 6, 4, 10], pad: 'same' }, // 10 channels: the last group of 4 overlaps the one before
    { x: [2, 4, 6, 50], pad: 'valid' }, // LeNet-5's conv2 channel count
    { x: [4, 24, 24, 20], pad: 'valid' }, // LeNet-5's conv1 pool, smaller batch
  ];

  test('the SIMD function is available here (else these cases would test the scalar loop)', async () => {
    await tf.setBackend('wasm');
    const memory = ((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: object } }).asm.memory;
    expect(maxPoolGrad2x2SimdFor(memory)).not.toBeNull();
  });

  test.each(simdCases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const attrs: NamedAttrMap = { filterSize: 2, strides: 2, pad: c.pad };
    const inputs = await inputsFor({ values: uniform(c.x, 500 + i), shape: c.x }, { filter: 2, stride: 2, pad: c.pad }, 600 + i);
    const expected = await runKernelOn('cpu', 'MaxPoolGrad', inputs, attrs);
    const actual = await runKernelOn('wasm', 'MaxPoolGrad', inputs, attrs);
    expect(actual.shape).toEqual(c.x);
    expect(Array.from(actual.values)).toEqual(Array.from(expected.values));
  });

  test('ties, NaN, -inf and -0 follow the scalar rule', async () => {
    const shape = [2, 4, 4, 6];
    const values = uniform(shape, 9).map((v) => Math.max(0, Math.round(v * 2) / 2)); // {0, 0.5, 1}: many ties
    // A window of only -inf (no winner), one of NaN and 1 (1 wins), one of all NaN (no winner).
    for (const [pixels, fill] of [[[0, 1, 4, 5], -Infinity], [[2, 3, 6], NaN], [[10, 11, 14, 15], NaN]] as const) {
      for (const p of pixels) for (let ch = 0; ch < 6; ch++) values[p * 6 + ch] = fill;
    }
    const attrs: NamedAttrMap = { filterSize: 2, strides: 2, pad: 'valid' };
    const output = await runKernelOn('cpu', 'MaxPool', { x: { values, shape } }, attrs);
    const dy = uniform(output.shape, 10);
    dy[0] = -0;
    dy[7] = -0;
    const inputs = { input: { values, shape }, output, dy: { values: dy, shape: output.shape } };
    const expected = await runKernelOn('cpu', 'MaxPoolGrad', inputs, attrs);
    const actual = await runKernelOn('wasm', 'MaxPoolGrad', inputs, attrs);
    expect(Array.from(actual.values)).toEqual(Array.from(expected.values));
  });
});
