/**
 * The stock wasm gradient kernels these models rely on and that we do not
 * replace (AvgPoolGrad, EluGrad), checked against cpu so a tfjs upgrade that breaks one shows up here
 * (the way MaxPoolGrad turned out to be wrong). Tolerance: KERNEL_TOLERANCE.
 */
import type { NamedAttrMap } from '@tensorflow/tfjs';
import { firstMismatch, KERNEL_TOLERANCE, runKernelOn, setupBackends, uniform } from './helpers.js';
import type { HostTensor } from './helpers.js';

beforeAll(async () => {
  await setupBackends();
});

async function expectWasmMatchesCpu(name: string, inputs: Record<string, HostTensor>, attrs: NamedAttrMap): Promise<void> {
  const expected = await runKernelOn('cpu', name, inputs, attrs);
  const actual = await runKernelOn('wasm', name, inputs, attrs);
  expect(actual.shape).toEqual(expected.shape);
  expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
}

const poolCases: { x: [number, number, number, number]; filter: number; stride: number; pad: 'same' | 'valid' }[] = [];
for (const x of [[2, 8, 8, 3], [1, 7, 9, 2]] as [number, number, number, number][]) {
  for (const filter of [2, 3]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) poolCases.push({ x, filter, stride, pad });
    }
  }
}

test.each(poolCases.map((c, i) => [JSON.stringify(c), c, i] as const))('AvgPoolGrad %s', async (_l, c, i) => {
  const attrs: NamedAttrMap = { filterSize: c.filter, strides: c.stride, pad: c.pad };
  const x: HostTensor = { values: uniform(c.x, 700 + i), shape: c.x };
  const y = await runKernelOn('cpu', 'AvgPool', { x }, attrs);
  await expectWasmMatchesCpu('AvgPoolGrad', { dy: { values: uniform(y.shape, 800 + i), shape: y.shape }, input: x }, attrs);
});

test('EluGrad', async () => {
  const x = uniform([1000], 900).map((v) => v * 4);
  const y = await runKernelOn('cpu', 'Elu', { x: { values: x, shape: [1000] } }, {});
  await expectWasmMatchesCpu('EluGrad', { dy: { values: uniform([1000], 901), shape: [1000] }, y }, {});
});
