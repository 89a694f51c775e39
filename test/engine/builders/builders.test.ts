import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { buildModel, layerSeed, type BuildSpec } from '../../../src/engine/builders.js';
import { saveModelDir } from '../../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../../src/engine/tf.js';

let tf: Tf;
const models: LayersModel[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  tf = await loadTf('cpu');
});

afterAll(async () => {
  for (const m of models) m.dispose();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function build(spec: BuildSpec, seed = 1): LayersModel {
  const model = buildModel(tf, spec, seed);
  models.push(model);
  return model;
}

/** Saves `model` and returns file name -> `size:sha256`. */
async function savedDigests(model: LayersModel): Promise<Record<string, string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelpress-builders-'));
  dirs.push(dir);
  await saveModelDir(model, dir);
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const bytes = await readFile(path.join(dir, name));
    out[name] = `${bytes.byteLength}:${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return out;
}

const summary = (model: LayersModel): [string, string, number][] =>
  model.layers.map((l) => [l.name, l.getClassName(), l.countParams()]);

describe('buildModel', () => {
  it('mlp defaults to LeNet-300-100: 784-300-100-10, 266,610 parameters', () => {
    const model = build({ arch: 'mlp' });
    expect(model.name).toBe('mlp');
    expect(summary(model)).toEqual([
      ['dense1', 'Dense', 784 * 300 + 300],
      ['dense2', 'Dense', 300 * 100 + 100],
      ['dense3', 'Dense', 100 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(266_610);
    expect(model.inputs[0]?.shape).toEqual([null, 784]);
    expect(model.outputs[0]?.shape).toEqual([null, 10]);
    expect(model.layers.map((l) => (l.getConfig() as { activation?: string }).activation)).toEqual([
      'relu',
      'relu',
      'softmax',
    ]);
    expect(model.optimizer).toBeUndefined(); // not compiled
  });

  it('mlp flattens an image input and adds dropout after each hidden layer', () => {
    const model = build({ arch: 'mlp', inputShape: [28, 28, 1], units: [64, 32], classes: 5, activation: 'tanh', dropout: 0.25 });
    expect(summary(model)).toEqual([
      ['flatten', 'Flatten', 0],
      ['dense1', 'Dense', 784 * 64 + 64],
      ['dropout1', 'Dropout', 0],
      ['dense2', 'Dense', 64 * 32 + 32],
      ['dropout2', 'Dropout', 0],
      ['dense3', 'Dense', 32 * 5 + 5],
    ]);
    expect(model.inputs[0]?.shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0]?.shape).toEqual([null, 5]);
    expect((model.getLayer('dense1').getConfig() as { activation: string }).activation).toBe('tanh');
    expect((model.getLayer('dropout1').getConfig() as { rate: number }).rate).toBe(0.25);
  });

  it('lenet5 is Caffe’s LeNet-5 (20/50/500): 431,080 parameters', () => {
    const model = build({ arch: 'lenet5' });
    expect(summary(model)).toEqual([
      ['conv1', 'Conv2D', 5 * 5 * 1 * 20 + 20],
      ['pool1', 'MaxPooling2D', 0],
      ['conv2', 'Conv2D', 5 * 5 * 20 * 50 + 50],
      ['pool2', 'MaxPooling2D', 0],
      ['flatten', 'Flatten', 0],
      ['dense1', 'Dense', 4 * 4 * 50 * 500 + 500],
      ['dense2', 'Dense', 500 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(431_080);
    expect(model.inputs[0]?.shape).toEqual([null, 28, 28, 1]);
    expect(model.getLayer('pool2').outputShape).toEqual([null, 4, 4, 50]);
    expect(model.outputs[0]?.shape).toEqual([null, 10]);
    // Caffe's convolutions have no nonlinearity; ip1 is followed by ReLU.
    expect(model.layers.map((l) => (l.getConfig() as { activation?: string }).activation)).toEqual([
      'linear',
      undefined,
      'linear',
      undefined,
      undefined,
      'relu',
      'softmax',
    ]);
  });

  it('lenet5 reshapes a flat square input', () => {
    const model = build({ arch: 'lenet5', inputShape: [784], dropout: 0.5 });
    expect(model.layers.map((l) => l.name)).toEqual([
      'reshape',
      'conv1',
      'pool1',
      'conv2',
      'pool2',
      'flatten',
      'dense1',
      'dropout1',
      'dense2',
    ]);
    expect(model.countParams()).toBe(431_080);
    expect(model.inputs[0]?.shape).toEqual([null, 784]);
  });

  it('cnn defaults to two blocks of conv (same) + batchNorm + maxPool, then the classifier', () => {
    const model = build({ arch: 'cnn' });
    expect(summary(model)).toEqual([
      ['conv1', 'Conv2D', 3 * 3 * 1 * 8 + 8],
      ['bn1', 'BatchNormalization', 4 * 8],
      ['pool1', 'MaxPooling2D', 0],
      ['conv2', 'Conv2D', 3 * 3 * 8 * 16 + 16],
      ['bn2', 'BatchNormalization', 4 * 16],
      ['pool2', 'MaxPooling2D', 0],
      ['flatten', 'Flatten', 0],
      ['dense1', 'Dense', 7 * 7 * 16 * 10 + 10],
    ]);
    expect(model.countParams()).toBe(9_194);
    expect(model.getLayer('conv1').outputShape).toEqual([null, 28, 28, 8]);
    expect(model.outputs[0]?.shape).toEqual([null, 10]);
  });

  it('cnn follows filters, kernelSize, inputShape, classes and dropout', () => {
    const model = build({ arch: 'cnn', filters: [4, 6, 8], kernelSize: 5, inputShape: [32, 32, 3], classes: 4, dropout: 0.1 });
    expect(model.layers.map((l) => l.name)).toEqual([
      'conv1',
      'bn1',
      'pool1',
      'conv2',
      'bn2',
      'pool2',
      'conv3',
      'bn3',
      'pool3',
      'flatten',
      'dropout1',
      'dense1',
    ]);
    expect(model.getLayer('conv1').countParams()).toBe(5 * 5 * 3 * 4 + 4);
    expect(model.getLayer('pool3').outputShape).toEqual([null, 4, 4, 8]);
    expect(model.outputs[0]?.shape).toEqual([null, 4]);
  });

  it.each<BuildSpec>([{ arch: 'mlp', units: [8] }, { arch: 'lenet5' }, { arch: 'cnn', filters: [2] }])(
    'predicts a probability distribution (%o)',
    (spec) => {
      const model = build(spec);
      const shape = model.inputs[0]?.shape.slice(1) as number[];
      const out = tf.tidy(() => (model.predict(tf.ones([2, ...shape])) as Tensor).arraySync() as number[][]);
      expect(out).toHaveLength(2);
      for (const row of out) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    },
  );

  describe('determinism', () => {
    it.each<BuildSpec>([{ arch: 'mlp', units: [32, 16] }, { arch: 'lenet5' }, { arch: 'cnn' }])(
      'same seed -> byte-identical saved model; another seed -> other weights, same layout (%o)',
      async (spec) => {
        const a = await savedDigests(build(spec, 42));
        const b = await savedDigests(build(spec, 42));
        const c = await savedDigests(build(spec, 43));
        expect(b).toEqual(a);
        expect(Object.keys(c)).toEqual(Object.keys(a));
        expect(c['group1-shard1of1.bin']).not.toEqual(a['group1-shard1of1.bin']);
        // The size is the same, only the values differ.
        expect(c['group1-shard1of1.bin']?.split(':')[0]).toBe(a['group1-shard1of1.bin']?.split(':')[0]);
      },
    );

    it('gives layers of the same shape different kernels', () => {
      const model = build({ arch: 'mlp', inputShape: [16], units: [16, 16] });
      const k1 = Array.from(model.getLayer('dense1').getWeights()[0]?.dataSync() ?? []);
      const k2 = Array.from(model.getLayer('dense2').getWeights()[0]?.dataSync() ?? []);
      expect(k1).toHaveLength(256);
      expect(k2).not.toEqual(k1);
    });

    it('starts biases at zero and seeds kernels per layer position', () => {
      const model = build({ arch: 'mlp', inputShape: [4], units: [3] }, 9);
      expect(Array.from(model.getLayer('dense1').getWeights()[1]?.dataSync() ?? [])).toEqual([0, 0, 0]);
      const seedOf = (name: string): unknown =>
        (model.getLayer(name).getConfig() as { kernelInitializer: { config: { seed: number } } }).kernelInitializer.config
          .seed;
      expect(seedOf('dense1')).toBe(layerSeed(9, 0));
      expect(seedOf('dense2')).toBe(layerSeed(9, 1));
    });

    it('layerSeed mixes seed and index into distinct 32-bit seeds', () => {
      const seeds = new Set<number>();
      for (let seed = 0; seed < 20; seed++) for (let i = 0; i < 20; i++) seeds.add(layerSeed(seed, i));
      expect(seeds.size).toBe(400);
      for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
      expect(layerSeed(1, 0)).not.toBe(layerSeed(1 + 2 ** 32, 0));
    });
  });

  describe('rejects invalid specs', () => {
    it.each<[string, unknown, number, string]>([
      ['arch', { arch: 'resnet' }, 1, 'Expected arch to be one of mlp, lenet5, cnn, lstm, gru, conv1d, transformer, got "resnet"'],
      ['seed', { arch: 'mlp' }, 1.5, 'Expected seed to be an integer, got 1.5'],
      ['classes', { arch: 'mlp', classes: 1 }, 1, 'Expected classes to be an integer >= 2, got 1'],
      ['units', { arch: 'mlp', units: [] }, 1, 'Expected units to be a list of at least 1 positive integers, got []'],
      ['units values', { arch: 'mlp', units: [10, 0] }, 1, 'Expected units to be a list of at least 1 positive integers, got [10,0]'],
      ['units on lenet5', { arch: 'lenet5', units: [10] }, 1, 'Expected no units for arch lenet5 (units is for mlp, lstm, gru)'],
      ['filters on mlp', { arch: 'mlp', filters: [4] }, 1, 'Expected no filters for arch mlp (filters is for cnn, conv1d)'],
      ['kernelSize', { arch: 'cnn', kernelSize: 0 }, 1, 'Expected kernelSize to be a positive integer, got 0'],
      [
        'activation',
        { arch: 'mlp', activation: 'gelu' },
        1,
        'Expected activation to be one of relu, tanh, sigmoid, elu, selu, linear, got "gelu"',
      ],
      ['dropout', { arch: 'mlp', dropout: 1 }, 1, 'Expected dropout to be a number with 0 <= dropout < 1, got 1'],
      [
        'inputShape rank',
        { arch: 'mlp', inputShape: [1, 2, 3, 4, 5] },
        1,
        'Expected inputShape to be a list of 1 to 4 positive integers, got [1,2,3,4,5]',
      ],
      [
        'non-square flat input for a conv arch',
        { arch: 'cnn', inputShape: [10] },
        1,
        'Expected inputShape for cnn to be [h, w, c], [h, w] or a square [n], got [10]',
      ],
      ['too small for lenet5', { arch: 'lenet5', inputShape: [12, 12, 1] }, 1, 'Expected inputShape for lenet5 to be at least 16x16, got [12,12,1]'],
      ['too small for the cnn pools', { arch: 'cnn', filters: [4, 4, 4], inputShape: [4, 4] }, 1, 'Expected inputShape for cnn to be at least 8x8, got [4,4]'],
    ])('%s', (_, spec, seed, message) => {
      expect(() => buildModel(tf, spec as BuildSpec, seed)).toThrow(new TypeError(message));
    });
  });
});
