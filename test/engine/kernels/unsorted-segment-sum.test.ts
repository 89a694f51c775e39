/**
 * UnsortedSegmentSum on wasm (ours; the stock backend has none) vs the cpu
 * backend: Gather's gradient shapes (1-D ids into [N, D] rows, as every
 * Embedding's backward pass), repeated ids, ids out of range (dropped), 2-D
 * ids, int32 values, and the Embedding gradient end to end.
 */
import { firstMismatch, KERNEL_TOLERANCE, setupBackends, tf, uniform } from './helpers.js';

interface Case {
  xShape: number[];
  ids: number[];
  idsShape: number[];
  numSegments: number;
  dtype: 'float32' | 'int32';
}

const cases: [string, Case][] = [
  ['embedding rows, repeated ids', { xShape: [6, 4], ids: [2, 0, 2, 5, 2, 1], idsShape: [6], numSegments: 7, dtype: 'float32' }],
  ['ids out of range are dropped', { xShape: [5, 3], ids: [-1, 0, 4, 9, 0], idsShape: [5], numSegments: 5, dtype: 'float32' }],
  ['2-D ids, 3-D values', { xShape: [2, 3, 2, 2], ids: [0, 1, 0, 3, 3, 2], idsShape: [2, 3], numSegments: 4, dtype: 'float32' }],
  ['1-D values', { xShape: [4], ids: [1, 1, 0, 1], idsShape: [4], numSegments: 2, dtype: 'float32' }],
  ['int32', { xShape: [4, 2], ids: [1, 1, 0, 3], idsShape: [4], numSegments: 4, dtype: 'int32' }],
];

beforeAll(async () => {
  await setupBackends();
});

async function run(backend: 'cpu' | 'wasm', c: Case): Promise<{ shape: number[]; values: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const raw = uniform(c.xShape, 31);
    let x = tf.tensor(c.dtype === 'int32' ? Array.from(raw, (v) => Math.round(v * 100)) : raw, c.xShape, c.dtype);
    let segmentIds = tf.tensor(c.ids, c.idsShape, 'int32');
    if (backend === 'cpu' && c.idsShape.length > 1) {
      // tfjs's cpu kernel fails on ids of rank > 1 (a broadcast error); the
      // same sum over flattened ids and rows is the reference.
      segmentIds = segmentIds.reshape([-1]);
      x = x.reshape([c.ids.length, ...c.xShape.slice(c.idsShape.length)]);
    }
    const y = tf.engine().runKernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments: c.numSegments }) as tf.Tensor;
    return { shape: y.shape.slice(), values: Array.from(y.dataSync()) };
  });
}

test.each(cases)('%s matches cpu', async (_name, c) => {
  const expected = await run('cpu', c);
  const actual = await run('wasm', c);
  expect(actual.shape).toEqual(expected.shape);
  expect(firstMismatch(actual.values, expected.values, KERNEL_TOLERANCE)).toBeUndefined();
});

test("an Embedding's gradient on wasm matches cpu", async () => {
  const grad = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const table = tf.variable(tf.tensor(uniform([9, 5], 3), [9, 5]));
      const ids = tf.tensor([[1, 0, 8], [8, 8, 2]], [2, 3], 'int32');
      const { grads } = tf.variableGrads(() => tf.gather(table, ids).square().sum() as tf.Scalar, [table]);
      const out = Array.from(grads[table.name]!.dataSync());
      table.dispose();
      return out;
    });
  };
  const expected = await grad('cpu');
  expect(firstMismatch(await grad('wasm'), expected, KERNEL_TOLERANCE)).toBeUndefined();
  expect(expected.some((v) => v !== 0)).toBe(true);
});

test('one new tensor per call, no leaked wasm data', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor2d(uniform([3, 2], 1), [3, 2]);
  const segmentIds = tf.tensor1d([0, 1, 0], 'int32');
  const be = tf.backend();
  const before = be.numDataIds();
  const y = tf.engine().runKernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments: 2 }) as tf.Tensor;
  expect(be.numDataIds()).toBe(before + 1);
  tf.dispose([x, segmentIds, y]);
});
