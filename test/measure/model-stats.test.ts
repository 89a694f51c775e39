import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel, type BuildSpec } from '../../src/engine/builders.js';
import { readModelArtifacts, saveModelDir } from '../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../src/engine/tf.js';
import { countMacs } from '../../src/measure/macs.js';
import { modelStats } from '../../src/measure/model-stats.js';
import { FIXTURES, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
let tf: Tf;

beforeAll(async () => {
  tf = await loadTf('cpu');
});

/** Topology JSON exactly as model.json stores it, without writing files. */
async function topologyOf(model: LayersModel): Promise<unknown> {
  let topology: unknown;
  await model.save({ save: async (a) => ((topology = a.modelTopology), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) });
  return topology;
}

/** Our per-layer output shapes must equal tfjs's own shape inference. */
async function expectShapesLikeTfjs(model: LayersModel): Promise<ReturnType<typeof countMacs>> {
  const macs = countMacs(await topologyOf(model));
  const tfjsShapes = model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((l) => [l.name, (l.outputShape as (number | null)[]).slice(1)]);
  expect(macs.layers.filter((l) => l.className !== 'InputLayer').map((l) => [l.name, l.outputShape])).toEqual(tfjsShapes);
  return macs;
}

describe('MACs of the built-in architectures (hand-computed)', () => {
  const cases: [string, BuildSpec, Record<string, number>, number][] = [
    // LeNet-300-100: 784*300 + 300*100 + 100*10.
    ['mlp 784-300-100-10', { arch: 'mlp' }, { dense1: 235_200, dense2: 30_000, dense3: 1_000 }, 266_610],
    // 28x28x1 -> conv1 5x5 valid -> 24x24x20 -> pool -> 12x12x20 -> conv2 5x5 valid -> 8x8x50
    // -> pool -> 4x4x50 = 800 -> dense1 500 -> dense2 10.
    [
      'lenet5 20/50/500',
      { arch: 'lenet5' },
      { conv1: 24 * 24 * 5 * 5 * 1 * 20, pool1: 0, conv2: 8 * 8 * 5 * 5 * 20 * 50, pool2: 0, flatten: 0, dense1: 800 * 500, dense2: 500 * 10 },
      431_080,
    ],
    // 15x15x3 -> conv1 3x3 same 4 -> 15x15x4 -> bn -> pool 2x2 (floor) -> 7x7x4 -> conv2 3x3 same 6
    // -> 7x7x6 -> bn -> pool -> 3x3x6 = 54 -> dense1 10.
    [
      'cnn 15x15x3 filters 4/6',
      { arch: 'cnn', inputShape: [15, 15, 3], filters: [4, 6] },
      { conv1: 15 * 15 * 9 * 3 * 4, bn1: 0, pool1: 0, conv2: 7 * 7 * 9 * 4 * 6, bn2: 0, pool2: 0, flatten: 0, dense1: 54 * 10 },
      4 * 27 + 4 + 16 + 6 * 36 + 6 + 24 + 550,
    ],
  ];

  test.each(cases)('%s', async (_name, spec, perLayer, params) => {
    const model = buildModel(tf, spec, 1);
    const dir = path.join(await tempDir(), spec.arch);
    await saveModelDir(model, dir);
    await expectShapesLikeTfjs(model);
    expect(model.countParams()).toBe(params);
    model.dispose();

    const stats = await modelStats(dir);
    expect(Object.fromEntries(stats.layers.map((l) => [l.name, l.macs]))).toEqual(perLayer);
    expect(stats.macs).toBe(Object.values(perLayer).reduce((a, b) => a + b, 0));
    expect(stats.macsComplete).toBe(true);
    expect(stats.params).toBe(params);
  });

  test('the totals quoted in the docs', async () => {
    const total = async (spec: BuildSpec) => countMacs(await topologyOf(buildModel(tf, spec, 1))).macs;
    expect(await total({ arch: 'mlp' })).toBe(266_200);
    expect(await total({ arch: 'lenet5' })).toBe(2_293_000);
    expect(await total({ arch: 'cnn' })).toBe(290_080);
  });
});

test('strides, same/valid padding, dilation, depthwise, separable and transposed convs', async () => {
  const L = tf.layers;
  const model = tf.sequential({
    layers: [
      L.conv2d({ inputShape: [9, 9, 3], name: 'c1', filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      L.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, padding: 'valid' }),
      L.separableConv2d({ name: 'sep', filters: 6, kernelSize: 2, padding: 'valid' }),
      L.conv2dTranspose({ name: 'up', filters: 2, kernelSize: 3, strides: 2, padding: 'same' }),
      L.zeroPadding2d({ name: 'pad', padding: 1 }),
      L.conv2d({ name: 'dil', filters: 3, kernelSize: 3, dilationRate: 2, padding: 'valid' }),
      L.globalAveragePooling2d({ name: 'gap' }),
      L.dense({ name: 'out', units: 5 }),
    ],
  });
  const macs = await expectShapesLikeTfjs(model);
  model.dispose();
  expect(Object.fromEntries(macs.layers.map((l) => [l.name, [l.outputShape, l.macs]]))).toEqual({
    c1: [[5, 5, 4], 5 * 5 * 9 * 3 * 4], // ceil(9 / 2) = 5
    dw: [[3, 3, 8], 3 * 3 * 9 * 4 * 2], // 5 - 3 + 1 = 3, channels 4 x multiplier 2
    sep: [[2, 2, 6], 2 * 2 * (4 * 8 + 8 * 6)], // depthwise 2x2 over 8 channels + pointwise 8 -> 6
    up: [[4, 4, 2], 2 * 2 * 9 * 6 * 2], // every input position through the whole kernel
    pad: [[6, 6, 2], 0],
    dil: [[2, 2, 3], 2 * 2 * 9 * 2 * 3], // effective kernel 5: 6 - 5 + 1 = 2
    gap: [[3], 0],
    out: [[5], 15],
  });
  expect(macs.macs).toBe(2700 + 648 + 320 + 432 + 216 + 15);
});

test('functional topology: Dense on a sequence, concatenate, flatten', async () => {
  const input = tf.input({ shape: [4, 6], name: 'x' });
  const a = tf.layers.dense({ name: 'a', units: 3 }).apply(input) as ReturnType<typeof tf.input>;
  const b = tf.layers.dense({ name: 'b', units: 5 }).apply(input) as ReturnType<typeof tf.input>;
  const c = tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as ReturnType<typeof tf.input>;
  const d = tf.layers.flatten({ name: 'flat' }).apply(c) as ReturnType<typeof tf.input>;
  const out = tf.layers.dense({ name: 'out', units: 2 }).apply(d) as ReturnType<typeof tf.input>;
  const model = tf.model({ inputs: input, outputs: out });
  const macs = await expectShapesLikeTfjs(model);
  model.dispose();
  expect(macs.kind).toBe('Functional');
  expect(macs.inputShapes).toEqual([[4, 6]]);
  expect(Object.fromEntries(macs.layers.map((l) => [l.name, l.macs]))).toEqual({ x: 0, a: 4 * 6 * 3, b: 4 * 6 * 5, cat: 0, flat: 0, out: 32 * 2 });
});

test('a layer without a rule makes MACs unknown, not 0', () => {
  const topology = {
    class_name: 'Sequential',
    config: {
      layers: [
        { class_name: 'Dense', config: { name: 'd1', units: 4, batch_input_shape: [null, 3] } },
        { class_name: 'LSTM', config: { name: 'rnn', units: 2 } },
        { class_name: 'Dense', config: { name: 'd2', units: 2 } },
      ],
    },
  };
  const macs = countMacs(topology);
  expect(macs.layers.map((l) => [l.name, l.macs])).toEqual([['d1', 12], ['rnn', null], ['d2', null]]);
  expect(macs).toMatchObject({ macs: 12, complete: false, unknown: ['rnn', 'd2'] });
});

test('converter-style topology (model_config, InputLayer entry): converted-dense fixture', async () => {
  const stats = await modelStats(path.join(FIXTURES, 'converted-dense'));
  expect(stats.inputShapes).toEqual([[3]]);
  expect(stats.layers.map((l) => [l.name, l.className, l.outputShape, l.params, l.macs])).toEqual([
    ['dense_input', 'InputLayer', [3], 0, 0],
    ['dense', 'Dense', [4], 16, 12],
    ['dense_1', 'Dense', [2], 10, 8],
  ]);
  // Fixture weights (make_fixtures.py): one zero in each kernel, one in each bias.
  expect(stats).toMatchObject({ params: 26, nonZeros: 22, zeros: 4, macs: 20, macsComplete: true });
  expect(stats.sparsity).toBeCloseTo(4 / 26, 12);
});

test('quantized fixture: params from the manifest, non-zeros as tfjs decodes them', async () => {
  const dir = path.join(FIXTURES, 'quantized-dense');
  const stats = await modelStats(dir);
  expect(stats.layers.flatMap((l) => l.weights.map((w) => [w.name, w.storedAs, w.params]))).toEqual([
    ['dense/kernel', 'uint8', 12],
    ['dense/bias', 'uint16', 4],
    ['dense_1/kernel', 'float16', 8],
    ['dense_1/bias', 'float16', 2],
  ]);
  // Independent: tfjs-core's own decoder.
  const artifacts = await readModelArtifacts(dir);
  const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const expected = Object.fromEntries(
    Object.entries(decoded).map(([name, t]) => [name, Array.from((t as Tensor).dataSync()).filter((v) => v !== 0).length]),
  );
  tf.dispose(Object.values(decoded));
  // The affine uint8/uint16 grids hit 0.0 exactly; float16 keeps zeros.
  expect(expected).toEqual({ 'dense/kernel': 11, 'dense/bias': 3, 'dense_1/kernel': 7, 'dense_1/bias': 2 });
  expect(Object.fromEntries(stats.layers.flatMap((l) => l.weights.map((w) => [w.name, w.nonZeros])))).toEqual(expected);
  expect(stats.nonZeros).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
  expect(stats.params).toBe(26);
});

test('non-zeros count exact zeros (and -0) of a model with zeroed weights; effective MACs follow', async () => {
  const model = buildModel(tf, { arch: 'mlp', inputShape: [20], units: [8], classes: 3 }, 5);
  const [kernel1, bias1, kernel2, bias2] = model.getWeights() as Tensor[];
  // Every fourth value of dense1's kernel zeroed, half of them as -0: 40 of 160.
  const values = Float32Array.from(kernel1!.dataSync(), (v, i) => (i % 8 === 0 ? 0 : i % 4 === 0 ? -0 : v === 0 ? 1e-3 : v));
  const dense2NonZeros = Array.from(kernel2!.dataSync()).filter((v) => v !== 0).length;
  model.setWeights([tf.tensor(values, kernel1!.shape), bias1!, kernel2!, bias2!]);
  const dir = path.join(await tempDir(), 'zeroed');
  await saveModelDir(model, dir);
  model.dispose();

  const stats = await modelStats(dir);
  expect(dense2NonZeros).toBe(24); // glorot-uniform draws no exact zeros here
  // Biases are initialised to zeros by the builders: 8 + 3 zeros.
  expect(stats.layers.map((l) => [l.name, l.params, l.nonZeros, l.macs, l.effectiveMacs])).toEqual([
    ['dense1', 168, 120, 160, 120],
    ['dense2', 27, 24, 24, 24],
  ]);
  expect(stats).toMatchObject({ params: 195, nonZeros: 144, zeros: 51, macs: 184, effectiveMacs: 144 });
});
