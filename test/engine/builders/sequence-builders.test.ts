/**
 * The sequence archs (lstm, gru, conv1d, transformer): layer names and
 * shapes, parameter counts worked out by hand, byte-identical saves for one
 * seed, and a reload through stock `tf.loadLayersModel` (plain
 * @tensorflow/tfjs, `tf.io.fromMemory`, none of modelpress's IO) that gives
 * the same outputs. Small sizes keep it fast; the defaults are checked by
 * shape and count only.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import * as stock from '@tensorflow/tfjs';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { parseHeadLayerName } from '../../../src/engine/attention.js';
import { buildModel, defaultInputShape, type BuildSpec } from '../../../src/engine/builders.js';
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

async function save(model: LayersModel): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'modelpress-seqbuild-'));
  dirs.push(dir);
  await saveModelDir(model, dir);
  return dir;
}

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = createHash('sha256').update(await readFile(path.join(dir, name))).digest('hex');
  }
  return out;
}

const summary = (model: LayersModel): [string, string, number][] =>
  model.layers.map((l) => [l.name, l.getClassName(), l.countParams()]);

/** Deterministic input: float features in [0, 1), or token ids in [0, vocabulary). */
function input(model: LayersModel, batch: number, vocabulary?: number): Tensor {
  const shape = [batch, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, (_, i) => (vocabulary ? (i * 7) % vocabulary : ((i * 37) % 101) / 101));
  return tf.tensor(values, shape);
}

describe('sequence archs: layers and shapes', () => {
  it('defaults: [28, 28] sequential MNIST in, 10 classes out', () => {
    expect(defaultInputShape({ arch: 'lstm' })).toEqual([28, 28]);
    expect(defaultInputShape({ arch: 'transformer', embedding: { vocabulary: 5, dimensions: 4 } })).toEqual([64]);
    // LSTM 128: 4 gates * (28 inputs + 128 recurrent + 1 bias) * 128, then 128 -> 10.
    const lstm = build({ arch: 'lstm' });
    expect(summary(lstm)).toEqual([
      ['lstm1', 'LSTM', 4 * (28 + 128 + 1) * 128],
      ['dense1', 'Dense', 128 * 10 + 10],
    ]);
    expect(lstm.inputs[0]?.shape).toEqual([null, 28, 28]);
    // GRU (tfjs: no reset_after, one bias per gate): 3 * (28 + 128 + 1) * 128.
    expect(summary(build({ arch: 'gru' }))[0]).toEqual(['gru1', 'GRU', 3 * (28 + 128 + 1) * 128]);
    expect(summary(build({ arch: 'conv1d' }))).toEqual([
      ['conv1', 'Conv1D', 3 * 28 * 32 + 32],
      ['pool1', 'MaxPooling1D', 0],
      ['conv2', 'Conv1D', 3 * 32 * 64 + 64],
      ['pool', 'GlobalAveragePooling1D', 0],
      ['dense1', 'Dense', 64 * 10 + 10],
    ]);
    // transformer 64 wide, 2 blocks of 4 heads (16 wide), feed-forward 128.
    const head = 3 * 64 * 16 + 2 * 16 + (16 * 64 + 64); // query, key (no bias), value, output
    const block = 4 * head + 2 * (2 * 64) + (64 * 128 + 128) + (128 * 64 + 64);
    const t = build({ arch: 'transformer' });
    expect(t.countParams()).toBe(28 * 64 + 64 + 28 * 64 + 2 * block + 64 * 10 + 10);
    expect(t.outputs[0]?.shape).toEqual([null, 10]);
  });

  it('lstm stacks: every layer but the last returns sequences; dropout after each', () => {
    const model = build({ arch: 'lstm', inputShape: [6, 3], units: [5, 4], classes: 3, dropout: 0.2 });
    expect(summary(model).map(([n, c]) => `${n}:${c}`)).toEqual(['lstm1:LSTM', 'dropout1:Dropout', 'lstm2:LSTM', 'dropout2:Dropout', 'dense1:Dense']);
    expect(model.getLayer('lstm1').outputShape).toEqual([null, 6, 5]);
    expect(model.getLayer('lstm2').outputShape).toEqual([null, 4]);
    const cfg = model.getLayer('lstm1').getConfig() as { recurrentActivation: string; unitForgetBias: boolean };
    expect([cfg.recurrentActivation, cfg.unitForgetBias]).toEqual(['sigmoid', true]);
    // unitForgetBias: the forget gate's quarter of the bias starts at 1, the rest at 0.
    const bias = Array.from(model.getLayer('lstm1').getWeights()[2]!.dataSync());
    expect(bias).toEqual([...Array(5).fill(0), ...Array(5).fill(1), ...Array(10).fill(0)]);
  });

  it('gru bidirectional: Bidirectional wrappers, concatenated, backward seeded apart from forward', () => {
    const model = build({ arch: 'gru', inputShape: [6, 3], units: [4, 2], bidirectional: true });
    expect(summary(model)).toEqual([
      ['gru1', 'Bidirectional', 2 * 3 * (3 + 4 + 1) * 4],
      ['gru2', 'Bidirectional', 2 * 3 * (8 + 2 + 1) * 2],
      ['dense1', 'Dense', 4 * 10 + 10],
    ]);
    expect(model.getLayer('gru1').outputShape).toEqual([null, 6, 8]);
    const [fk, , , bk] = model.getLayer('gru1').getWeights();
    expect(Array.from(bk!.dataSync())).not.toEqual(Array.from(fk!.dataSync()));
  });

  it('embedding first for token ids; maskZero only where masks are honoured', () => {
    const model = build({ arch: 'lstm', inputShape: [7], units: [4], embedding: { vocabulary: 20, dimensions: 3, maskZero: true } });
    expect(summary(model)).toEqual([
      ['embedding', 'Embedding', 20 * 3],
      ['lstm1', 'LSTM', 4 * (3 + 4 + 1) * 4],
      ['dense1', 'Dense', 4 * 10 + 10],
    ]);
    expect((model.getLayer('embedding').getConfig() as { maskZero: boolean }).maskZero).toBe(true);
    const c = build({ arch: 'conv1d', inputShape: [8], filters: [4], embedding: { vocabulary: 20, dimensions: 3 } });
    expect(c.layers.map((l) => l.name)).toEqual(['embedding', 'conv1', 'pool', 'dense1']);
  });

  it('conv1d: max pooling between blocks, global max pooling on request', () => {
    const model = build({ arch: 'conv1d', inputShape: [8, 2], filters: [3, 4, 5], kernelSize: 5, pooling: 'max', dropout: 0.1 });
    expect(model.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'pool', 'dropout1', 'dense1']);
    expect(model.getLayer('conv3').outputShape).toEqual([null, 2, 5]);
    expect(model.getLayer('pool').getClassName()).toBe('GlobalMaxPooling1D');
  });

  it('transformer: one set of named layers per head, a learned [T, d] position table', () => {
    const model = build({ arch: 'transformer', inputShape: [5, 3], dimensions: 8, heads: 2, blocks: 1, feedForward: 6 });
    const heads = model.layers.map((l) => parseHeadLayerName(l.name)).filter((h) => h !== undefined);
    expect(heads).toHaveLength(2 * 8);
    for (const h of [1, 2]) {
      expect(model.getLayer(`block1_head${h}_query`).countParams()).toBe(8 * 4 + 4);
      expect(model.getLayer(`block1_head${h}_scores`).outputShape).toEqual([null, 5, 5]);
      expect(model.getLayer(`block1_head${h}_context`).outputShape).toEqual([null, 5, 4]);
      expect(model.getLayer(`block1_head${h}_output`).outputShape).toEqual([null, 5, 8]);
    }
    expect(model.getLayer('position_embedding').countParams()).toBe(5 * 8);
    expect(model.getLayer('position_reshape').outputShape).toEqual([null, 5, 8]);
    expect(model.getLayer('block1_norm2').getClassName()).toBe('LayerNormalization');
    expect(model.layers.map((l) => l.name).filter((n) => !parseHeadLayerName(n))).toEqual([
      'input', 'position_zeros', 'position_pool1', 'position_column', 'position_index', 'position_embedding', 'projection',
      'position_reshape', 'position_add', 'block1_attention', 'block1_add1', 'block1_norm1', 'block1_ffn1', 'block1_ffn2',
      'block1_add2', 'block1_norm2', 'pool', 'dense1',
    ]);
  });

  it('the position table changes the output: positions are seen', () => {
    const model = build({ arch: 'transformer', inputShape: [4, 2], dimensions: 4, heads: 1, blocks: 1 });
    const table = model.getLayer('position_embedding');
    const x = tf.tensor([[[1, 0], [0, 1], [1, 1], [0, 0]]]);
    const before = (model.predict(x) as Tensor).arraySync();
    table.setWeights([tf.randomNormal([1, 16], 0, 1, 'float32', 3)]);
    const after = (model.predict(x) as Tensor).arraySync();
    expect(after).not.toEqual(before);
  });

  it.each<[string, BuildSpec, string]>([
    ['rank without embedding', { arch: 'lstm', inputShape: [784] }, 'Expected inputShape for lstm to be [time, features] (without embedding), got [784]'],
    ['rank with embedding', { arch: 'gru', inputShape: [28, 28], embedding: { vocabulary: 10, dimensions: 4 } }, 'Expected inputShape for gru to be [time] (token ids, with embedding), got [28,28]'],
    ['heads divide dimensions', { arch: 'transformer', dimensions: 10, heads: 4 }, 'Expected heads to divide dimensions (each head gets dimensions / heads), got dimensions 10 and heads 4'],
    ['maskZero on a transformer', { arch: 'transformer', inputShape: [5], embedding: { vocabulary: 9, dimensions: 64, maskZero: true } }, 'Expected no embedding.maskZero for arch transformer (only lstm and gru skip masked steps)'],
    ['option of another arch', { arch: 'lstm', heads: 2 }, 'Expected no heads for arch lstm (heads is for transformer)'],
    ['conv1d too short', { arch: 'conv1d', inputShape: [3, 1], filters: [2, 2, 2] }, 'Expected inputShape for conv1d to have at least 4 time steps for 3 blocks, got [3,1]'],
    ['vocabulary', { arch: 'lstm', inputShape: [3], embedding: { vocabulary: 0, dimensions: 2 } }, 'Expected embedding.vocabulary to be a positive integer, got 0'],
  ])('rejects %s', (_, spec, message) => {
    expect(() => buildModel(tf, spec, 1)).toThrow(new TypeError(message));
  });
});

const SMALL: [BuildSpec, number | undefined][] = [
  [{ arch: 'lstm', inputShape: [6, 3], units: [5, 4] }, undefined],
  [{ arch: 'gru', inputShape: [6, 3], units: [4], bidirectional: true }, undefined],
  [{ arch: 'lstm', inputShape: [6], units: [4], embedding: { vocabulary: 11, dimensions: 3, maskZero: true } }, 11],
  [{ arch: 'conv1d', inputShape: [8, 3], filters: [4, 6] }, undefined],
  [{ arch: 'transformer', inputShape: [6, 3], dimensions: 8, heads: 2, blocks: 2, feedForward: 12 }, undefined],
  [{ arch: 'transformer', inputShape: [6], dimensions: 8, heads: 2, blocks: 1, embedding: { vocabulary: 11, dimensions: 8 } }, 11],
];

describe.each(SMALL)('%o', (spec, vocabulary) => {
  it('same seed -> byte-identical saved model; another seed -> other weights', async () => {
    const a = await digests(await save(build(spec, 42)));
    const b = await digests(await save(build(spec, 42)));
    const c = await digests(await save(build(spec, 43)));
    expect(b).toEqual(a);
    expect(Object.keys(c)).toEqual(Object.keys(a));
    expect(c['group1-shard1of1.bin']).not.toEqual(a['group1-shard1of1.bin']);
  });

  it('reloads in stock tf.loadLayersModel with identical outputs', async () => {
    const model = build(spec, 7);
    const dir = await save(model);
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
      modelTopology: object;
      weightsManifest: { paths: string[]; weights: stock.io.WeightsManifestEntry[] }[];
    };
    const group = json.weightsManifest[0]!;
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(path.join(dir, p)))));
    const reloaded = await stock.loadLayersModel(
      stock.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: group.weights,
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      }),
    );
    models.push(reloaded);
    expect(reloaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    const x = input(model, 3, vocabulary);
    const expected = Array.from((model.predict(x) as Tensor).dataSync());
    const actual = Array.from((reloaded.predict(x) as Tensor).dataSync());
    expect(actual).toEqual(expected);
    for (const row of [0, 1, 2]) {
      expect(actual.slice(row * 10, row * 10 + 10).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    }
  });
});
