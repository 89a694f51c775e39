import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../src/engine/tf.js';
import { packModel } from '../../src/formats/packed.js';
import { inspectModel } from '../../src/inspect/inspect-model.js';
import type { ModelReport } from '../../src/inspect/model-report.js';
import { FIXTURES, useTempDirs } from '../measure/helpers.js';

const tempDir = useTempDirs();
let tf: Tf;

beforeAll(async () => {
  tf = await loadTf('cpu');
});

async function inspect(p: string): Promise<ModelReport> {
  const result = await inspectModel(p, { tf: async () => tf });
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
  return result.value;
}

/**
 * A small functional conv net: conv1 -> bn1 -> relu, a residual Add of relu
 * and conv2(relu), then flatten -> hidden -> out. Seeded initialisers, so
 * the counts below are exact (biases and BN beta/mean start at zero).
 */
function residualNet(): LayersModel {
  const init = () => tf.initializers.glorotUniform({ seed: 7 });
  const input = tf.input({ shape: [8, 8, 1], name: 'image' });
  const conv1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv1', kernelInitializer: init() }).apply(input);
  const bn1 = tf.layers.batchNormalization({ name: 'bn1' }).apply(conv1);
  const relu = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(bn1);
  const conv2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv2', kernelInitializer: init() }).apply(relu);
  const add = tf.layers.add({ name: 'add' }).apply([relu, conv2] as never);
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(add);
  const hidden = tf.layers.dense({ units: 8, activation: 'relu', name: 'hidden', kernelInitializer: init() }).apply(flat);
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: init() }).apply(hidden);
  return tf.model({ inputs: input, outputs: out as never, name: 'residual' });
}

describe('inspectModel on tfjs-converter output', () => {
  test('converted-dense: layers, float32 storage, sizes of every file', async () => {
    const r = await inspect(path.join(FIXTURES, 'converted-dense'));
    expect(r.format).toBe('tfjs-layers');
    expect(r.topology).toBe('Sequential');
    expect(r.inputs).toEqual([{ name: 'dense_input', shape: [3] }]);
    expect(r.outputs).toEqual([{ name: 'dense_1', shape: [2] }]);
    expect(r.layers.map((l) => [l.name, l.className, l.outputShape, l.inbound, l.params, l.nonZeros, l.macs])).toEqual([
      ['dense_input', 'InputLayer', [3], [], 0, 0, 0],
      ['dense', 'Dense', [4], ['dense_input'], 16, 14, 12],
      ['dense_1', 'Dense', [2], ['dense'], 10, 8, 8],
    ]);
    expect(r.layers[1]!.weights.map((w) => [w.name, w.shape, w.dtype, w.storage])).toEqual([
      ['dense/kernel', [3, 4], 'float32', 'float32'],
      ['dense/bias', [4], 'float32', 'float32'],
    ]);
    expect(r.files.map((f) => [f.name, f.raw])).toEqual([
      ['model.json', 2252],
      ['group1-shard1of1.bin', 104],
    ]);
    expect(r.size.raw).toBe(2356);
    expect(r.summary).toEqual({ layers: 3, params: 26, nonZeros: 22, sparsity: 4 / 26, macs: 20, macsComplete: true });
  });

  test('quantized-dense: uint8 / uint16 affine and float16 storage from the manifest', async () => {
    const r = await inspect(path.join(FIXTURES, 'quantized-dense', 'model.json'));
    const storage = r.layers.flatMap((l) => l.weights.map((w) => [w.name, w.dtype, w.storage]));
    expect(storage).toEqual([
      ['dense/kernel', 'float32', 'uint8 affine'],
      ['dense/bias', 'float32', 'uint16 affine'],
      ['dense_1/kernel', 'float32', 'float16'],
      ['dense_1/bias', 'float32', 'float16'],
    ]);
  });

  test('stage checks use the stages\' own rules and words', async () => {
    const r = await inspect(path.join(FIXTURES, 'converted-dense'));
    const [input, hidden, output] = r.layers;
    expect(input!.stages).toEqual({
      prune: { applies: false, reason: 'no kernel to mask' },
      'prune-structured': { applies: false, reason: 'InputLayer is not one of Dense, Conv2D, SeparableConv2D, SimpleRNN, LSTM, GRU' },
      share: { applies: false, reason: 'no kernel to cluster' },
      quantize: { applies: false, reason: 'no float32 weights' },
    });
    expect(hidden!.stages['prune-structured']).toEqual({ applies: true });
    expect(output!.stages['prune-structured']).toEqual({
      applies: false,
      reason: "layer `dense_1` is the model's output layer: removing its units would change the model's output",
    });
    expect(output!.stages.quantize).toEqual({ applies: false, reason: 'kernel below minSize (8 < 256), bias below minSize (2 < 256)' });
    expect(output!.weights.map((w) => w.quantize)).toEqual([
      { applies: false, reason: 'below minSize (8 < 256)' },
      { applies: false, reason: 'below minSize (2 < 256)' },
    ]);
  });
});

describe('inspectModel on a functional conv net with batch norm and a residual Add', () => {
  let r: ModelReport;
  beforeAll(async () => {
    const dir = await tempDir();
    await saveModelDir(residualNet(), dir);
    r = await inspect(dir);
  });

  test('graph order, inbound layers, params, non-zeros and MACs per layer', () => {
    expect(r.topology).toBe('Functional');
    expect(r.layers.map((l) => [l.name, l.className, l.outputShape, l.inbound, l.params, l.nonZeros, l.macs])).toEqual([
      ['image', 'InputLayer', [8, 8, 1], [], 0, 0, 0],
      // 3*3*1*4 + 4 bias (zeros)
      ['conv1', 'Conv2D', [8, 8, 4], ['image'], 40, 36, 64 * 9 * 4],
      // gamma (ones), beta (zeros), moving mean (zeros), moving variance (ones)
      ['bn1', 'BatchNormalization', [8, 8, 4], ['conv1'], 16, 8, 0],
      ['relu', 'Activation', [8, 8, 4], ['bn1'], 0, 0, 0],
      ['conv2', 'Conv2D', [8, 8, 4], ['relu'], 148, 144, 64 * 9 * 4 * 4],
      ['add', 'Add', [8, 8, 4], ['relu', 'conv2'], 0, 0, 0],
      ['flatten', 'Flatten', [256], ['add'], 0, 0, 0],
      ['hidden', 'Dense', [8], ['flatten'], 2056, 2048, 2048],
      ['out', 'Dense', [3], ['hidden'], 27, 24, 24],
    ]);
    expect(r.inputs).toEqual([{ name: 'image', shape: [8, 8, 1] }]);
    expect(r.outputs).toEqual([{ name: 'out', shape: [3] }]);
  });

  test('which stage acts on which layer', () => {
    const table = Object.fromEntries(r.layers.map((l) => [l.name, Object.values(l.stages).map((c) => c.applies)]));
    // columns: prune, prune-structured, share, quantize
    expect(table).toEqual({
      image: [false, false, false, false],
      // conv1 and conv2 meet at `add`: structured pruning cuts them together, as one group.
      conv1: [true, true, true, false],
      bn1: [false, false, false, false],
      relu: [false, false, false, false],
      conv2: [true, true, true, false],
      add: [false, false, false, false],
      flatten: [false, false, false, false],
      hidden: [true, true, true, true],
      out: [true, false, true, false],
    });
  });

  test('why structured pruning and quantize leave layers alone', () => {
    const why = (layer: string, stage: string) => r.layers.find((l) => l.name === layer)!.stages[stage]!.reason;
    expect(why('out', 'prune-structured')).toBe("layer `out` is the model's output layer: removing its units would change the model's output");
    expect(why('conv2', 'quantize')).toBe('kernel below minSize (144 < 256), bias below minSize (4 < 256)');
    expect(why('bn1', 'quantize')).toBe(
      'gamma below minSize (4 < 256), beta below minSize (4 < 256), moving_mean below minSize (4 < 256), moving_variance below minSize (4 < 256)',
    );
    // hidden's 2048-element kernel is quantized, its bias is not: the layer applies, the bias says why not.
    expect(r.layers.find((l) => l.name === 'hidden')!.weights.map((w) => [w.name, w.quantize])).toEqual([
      ['hidden/kernel', { applies: true }],
      ['hidden/bias', { applies: false, reason: 'below minSize (8 < 256)' }],
    ]);
  });

  test('a packed .mpk of the same model: same layers, packed encodings as storage', async () => {
    const dir = await tempDir();
    await saveModelDir(residualNet(), path.join(dir, 'm'));
    const packed = await packModel(path.join(dir, 'm'));
    const file = path.join(dir, 'residual.mpk');
    await writeFile(file, packed.bytes);
    const p = await inspect(file);
    expect(p.format).toBe('packed');
    expect(p.files).toEqual([expect.objectContaining({ name: 'residual.mpk', raw: packed.bytes.byteLength })]);
    expect(p.layers.map((l) => [l.name, l.params, l.nonZeros])).toEqual(r.layers.map((l) => [l.name, l.params, l.nonZeros]));
    const storage = new Map(p.layers.flatMap((l) => l.weights.map((w) => [w.name, w.storage])));
    for (const t of packed.breakdown.tensors) expect(storage.get(t.name)).toBe(`${t.source} ${t.encoding}`);
    expect(p.layers.map((l) => l.stages)).toEqual(r.layers.map((l) => l.stages));
  });
});

test('a layer class tfjs does not know: numbers still reported, stages unknown with the reason', async () => {
  const d = await tempDir();
  const json = JSON.parse(await readFile(path.join(FIXTURES, 'converted-dense', 'model.json'), 'utf8'));
  json.modelTopology.model_config.config.layers[2].class_name = 'MyDense';
  await writeFile(path.join(d, 'model.json'), JSON.stringify(json));
  await copyFile(path.join(FIXTURES, 'converted-dense', 'group1-shard1of1.bin'), path.join(d, 'group1-shard1of1.bin'));
  const r = await inspect(d);
  expect(r.layers.map((l) => [l.name, l.className, l.params, l.macs])).toEqual([
    ['dense_input', 'InputLayer', 0, 0],
    ['dense', 'Dense', 16, 12],
    ['dense_1', 'MyDense', 10, null],
  ]);
  expect(r.summary.macsComplete).toBe(false);
  expect(r.stagesUnknown).toMatch(/^tfjs cannot instantiate the model: .*MyDense/);
  expect(r.layers[2]!.stages.quantize).toEqual({ applies: null, reason: r.stagesUnknown });
});

describe('inspectModel: bad input is a located diagnostic, never a throw', () => {
  test.each([
    ['a missing path', async (d: string) => path.join(d, 'nope'), 'file-not-found', 'no such file or directory'],
    ['a directory without model.json', async (d: string) => (await mkdir(path.join(d, 'empty')), path.join(d, 'empty')), 'file-unreadable', 'no model.json (not a tfjs model directory)'],
    ['a text file', async (d: string) => (await writeFile(path.join(d, 'notes.txt'), 'hello\n'), path.join(d, 'notes.txt')), 'file-unreadable', 'not a model this command reads'],
    [
      'a truncated shard',
      async (d: string) => {
        const m = path.join(d, 'm');
        await mkdir(m);
        await copyFile(path.join(FIXTURES, 'converted-dense', 'model.json'), path.join(m, 'model.json'));
        await writeFile(path.join(m, 'group1-shard1of1.bin'), (await readFile(path.join(FIXTURES, 'converted-dense', 'group1-shard1of1.bin'))).subarray(0, 50));
        return m;
      },
      'file-unreadable',
      'manifest describes 104 bytes, shards hold 50',
    ],
    ['a corrupt .mpk', async (d: string) => (await writeFile(path.join(d, 'x.mpk'), Buffer.from('MPK\x02junk')), path.join(d, 'x.mpk')), 'file-unreadable', 'corrupt packed model (packed data ends early: need 117 byte(s) at offset 6, have 2)'],
    [
      'a model.json whose topology is not Keras',
      async (d: string) => (await writeFile(path.join(d, 'g.json'), JSON.stringify({ modelTopology: { node: [] }, weightsManifest: [] })), path.join(d, 'g.json')),
      'file-unreadable',
      'not a Keras model topology (Expected modelTopology to be a Keras Sequential or Functional model, got class_name undefined)',
    ],
  ])('%s', async (_what, make, code, message) => {
    const p = await make(await tempDir());
    const result = await inspectModel(p, { tf: async () => tf });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]!.code).toBe(code);
    expect(result.diagnostics[0]!.message).toBe(message);
  });

  test('a model.json that is not JSON points at the line and column', async () => {
    const d = await tempDir();
    const p = path.join(d, 'model.json');
    await writeFile(p, '{\n  "modelTopology": {,\n}\n');
    const result = await inspectModel(p, { tf: async () => tf });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]!.loc).toEqual({ file: p, line: 2, column: 21, sourceLine: '  "modelTopology": {,', length: 1 });
  });
});
