/**
 * Sum on wasm (our replacement for sums over every axis but the last, the
 * bias gradients): the same bits as the stock wasm kernel (which transposes
 * and then sums each channel sequentially in float32, the order the SIMD
 * column sum keeps), close to cpu (KERNEL_TOLERANCE: cpu sums in float64),
 * the same output shapes with and without keepDims; and every other sum
 * still goes to the stock kernel.
 */
import type { KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { sumColumnsSimdFor } from '../../../src/engine/kernels/sum-columns-simd.js';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, tf, uniform } from './helpers.js';

/** The stock wasm kernel, captured before registerWasmTrainingKernels replaces it. */
const stock: KernelConfig = tf.getKernel('Sum', 'wasm');

beforeAll(async () => {
  await setupBackends();
});

/** The stock kernel's output for the same input (its setupFunc ran: ours forwards it). */
function stockSum(values: Float32Array, shape: number[], attrs: NamedAttrMap): { values: Float32Array; shape: number[] } {
  const be = tf.backend() as BackendWasm;
  return tf.tidy(() => {
    const x = tf.tensor(values, shape);
    const out = stock.kernelFunc({ inputs: { x }, attrs, backend: be }) as TensorInfo;
    const result = { values: be.readSync(out.dataId) as Float32Array, shape: out.shape.slice() };
    be.disposeData(out.dataId);
    return result;
  });
}

const cases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { shape: [8, 24, 24, 20], axis: [0, 1, 2], keepDims: false }, // LeNet-5's conv1 bias gradient, smaller batch
  { shape: [4, 8, 8, 50], axis: [0, 1, 2], keepDims: false }, // 50 channels: a tail of 2
  { shape: [3, 5, 7], axis: [0, -2], keepDims: true }, // 7 channels: a tail of 3
  { shape: [16, 500], axis: 0, keepDims: false }, // a dense layer's bias gradient
  { shape: [10, 4], axis: -2, keepDims: true },
];

describe('Sum over every axis but the last (wasm): the stock kernel\'s bits', () => {
  test('the SIMD function is available here (else these cases would test the stock kernel)', async () => {
    await tf.setBackend('wasm');
    const memory = ((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: object } }).asm.memory;
    expect(sumColumnsSimdFor(memory)).not.toBeNull();
  });

  test.each(cases.map((c, i) => [JSON.stringify(c), c, i] as const))('%s', async (_label, c, i) => {
    const values = uniform(c.shape, 700 + i);
    const attrs: NamedAttrMap = { axis: c.axis, keepDims: c.keepDims };
    const actual = await runKernelOn('wasm', 'Sum', { x: { values, shape: c.shape } }, attrs);
    const expected = stockSum(values, c.shape, attrs);
    expect(actual.shape).toEqual(expected.shape);
    expect(Array.from(actual.values)).toEqual(Array.from(expected.values));
    const cpu = await runKernelOn('cpu', 'Sum', { x: { values, shape: c.shape } }, attrs);
    expect(cpu.shape).toEqual(actual.shape);
    expect(firstMismatch(actual.values, cpu.values, KERNEL_TOLERANCE)).toBeUndefined();
  });
});

describe('other sums go to the stock kernel', () => {
  test.each([
    ['the last axis', [4, 6], 1],
    ['inner axes', [2, 3, 4, 5], [1, 2]],
    ['fewer than 4 channels', [6, 3], 0],
    ['everything', [4, 5], [0, 1]],
    // The stock kernel sums in the listed order, which is not row-major order here.
    ['the leading axes listed out of order', [3, 5, 7], [1, 0]],
  ] as const)('%s', async (_label, shape, axis) => {
    const values = uniform([...shape], 800);
    const attrs: NamedAttrMap = { axis: axis as number | number[], keepDims: false };
    const actual = await runKernelOn('wasm', 'Sum', { x: { values, shape: [...shape] } }, attrs);
    expect(Array.from(actual.values)).toEqual(Array.from(stockSum(values, [...shape], attrs).values));
  });

  test('int32 sums are the stock kernel\'s (integers)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5], 'int32');
    const s = tf.sum(x, 0) as Tensor;
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([7, 9, 11, 13, 15]);
    tf.dispose([x, s]);
  });
});
