/**
 * The quantize stage's fake quantization: the straight-through estimator,
 * quantization-aware fine-tuning (keeps pruned zeros, deterministic), the
 * layer-by-layer runner of the int8 simulation (faithful to predict on
 * sequential and functional models; BN-fused and pass-through layers), and
 * progress/abort through the context.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { checkStageConfig } from '../../../src/recipe/validate.js';
import type { TreeNode } from '../../../src/recipe/tree.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { quantizeTensor } from '../../../src/formats/weight-quantization.js';
import { fakeQuantAffine, overrideRead, straightThrough } from '../../../src/stages/quantize/quantize-fake-quant.js';
import { runLayerByLayer } from '../../../src/stages/quantize/quantize-simulate.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import type { QuantizeConfig } from '../../../src/stages/quantize/quantize.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

async function shardBytes(dir: string): Promise<Buffer> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
}

describe('fake quantization and QAT', () => {
  let h: Harness;
  let tf: typeof import('@tensorflow/tfjs');
  let pruned: ArtifactRef;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [64, 32] } } });
    tf = await h.engine.tf();
    const r = await h.run(trainStage, { data: 'train', epochs: 1, batchSize: 64 });
    // Prune 70% of dense1's kernel (writing +0 with tf.where).
    const model = await h.engine.loadModel(r.outputs.model!);
    const [k, b] = model.getLayer('dense1').getWeights();
    const sorted = Float32Array.from(k!.dataSync(), Math.abs).sort();
    const t = sorted[Math.floor(sorted.length * 0.7)]!;
    model.getLayer('dense1').setWeights([tf.where(tf.greater(tf.abs(k!), t), k!, tf.zerosLike(k!)), b!]);
    const dir = join(h.dir, 'pruned');
    await h.engine.saveModel(model, dir);
    pruned = await h.artifact(dir);
  });
  afterAll(() => h.cleanup());

  test('fakeQuantAffine matches the storage encoder (float32 ops: at most one code apart, mostly equal)', () => {
    const w = tf.randomNormal([4000], 0, 0.1, 'float32', 5);
    const values = w.dataSync() as Float32Array;
    values[17] = 0;
    const fq = fakeQuantAffine(tf, tf.tensor(values), 255).dataSync();
    const q = quantizeTensor(values, 'uint8');
    let same = 0;
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(fq[i]! - q.dequantized[i]!);
      expect(d).toBeLessThanOrEqual(q.quantization.scale! * 1.01);
      if (d < q.quantization.scale! / 100) same++;
    }
    expect(same / values.length).toBeGreaterThan(0.99);
    expect(Object.is(fq[17], 0)).toBe(true);
  });

  test('straight-through estimator: forward sees fq(w), the gradient flows to w unchanged', () => {
    const layer = tf.layers.dense({ units: 3, useBias: false, inputShape: [4] });
    const m = tf.sequential({ layers: [layer] });
    const kernel = layer.weights[0]!;
    const v = kernel.read() as tfTypes.Variable;
    const undo = overrideRead(kernel, straightThrough(tf, (x) => fakeQuantAffine(tf, x, 255)));
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(m.apply(x) as tfTypes.Tensor) as tfTypes.Scalar, [v]);
    const expected = tf.sum(tf.matMul(x, fakeQuantAffine(tf, v, 255)));
    expect(value.dataSync()[0]).toBeCloseTo(expected.dataSync()[0]!, 5);
    // d(sum(x @ W))/dW = x^T 1: [1,1,1; 2,2,2; ...] — as if no quantizer were there.
    expect([...grads[v.name]!.dataSync()]).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    undo();
    expect(kernel.read()).toBe(v);
  });

  test('QAT: fine-tunes with fake-quantized weights, keeps pruned zeros, deterministic', async () => {
    const cfg = { weights: 'uint8', eval: 'test', finetune: { epochs: 1, learningRate: 0.0005 } } as Record<string, Json>;
    const a = await h.run(quantizeStage, cfg, modelInput(pruned));
    const b = await h.run(quantizeStage, cfg, modelInput(pruned));
    expect((await shardBytes(a.outputs.model!)).equals(await shardBytes(b.outputs.model!))).toBe(true);
    expect(await readFile(join(a.outputs.model!, 'meta.json'), 'utf8')).toBe(await readFile(join(b.outputs.model!, 'meta.json'), 'utf8'));
    const m = a.metrics!;
    const ft = m.finetune as Record<string, any>;
    expect(ft.epochs).toBe(1);
    expect(ft.steps).toBe(Math.ceil(2000 / 64));
    expect(ft.fakeQuantized).toEqual(['dense1/kernel', 'dense2/kernel', 'dense3/kernel']); // biases (64, 32, 10) < minSize
    expect(ft.zerosKept).toEqual(['dense1/kernel']);
    expect(m.accuracy as number).toBeGreaterThan(70);
    // Weights moved (the stored model is not the plain quantization of the input) ...
    const plain = await h.run(quantizeStage, { weights: 'uint8' }, modelInput(pruned));
    expect((await shardBytes(plain.outputs.model!)).equals(await shardBytes(a.outputs.model!))).toBe(false);
    // ... but every pruned zero is still exactly +0.0 in what stock tfjs loads.
    const before = (await h.engine.loadModel(pruned.dir)).getLayer('dense1').getWeights()[0]!.dataSync();
    const after = (await h.engine.loadModel(a.outputs.model!)).getLayer('dense1').getWeights()[0]!.dataSync();
    let zeros = 0;
    for (let i = 0; i < before.length; i++) {
      if (before[i] !== 0) continue;
      zeros++;
      if (!Object.is(after[i], 0)) throw new Error(`dense1/kernel[${i}] = ${after[i]}`);
    }
    expect(zeros).toBeGreaterThan(0.69 * before.length);
    // Biases were fine-tuned but not quantized: written as float32 with their new values.
    const manifest = JSON.parse(await readFile(join(a.outputs.model!, 'model.json'), 'utf8'));
    const bias = manifest.weightsManifest[0].weights.find((w: { name: string }) => w.name === 'dense1/bias');
    expect(bias).toEqual({ name: 'dense1/bias', shape: [64], dtype: 'float32' });
  });

  test('the layer-by-layer runner computes what predict does (sequential and functional models)', async () => {
    const seq = await h.engine.loadModel(pruned.dir);
    const xs = tf.randomUniform([8, 784], 0, 1, 'float32', 3);
    const keys: string[] = [];
    const y = runLayerByLayer(tf, seq, xs, (k, t) => (keys.push(k), t));
    expect(keys).toEqual(['input:dense1_input', 'dense1', 'dense2', 'dense3']);
    expect(tf.max(tf.abs(tf.sub(y, seq.predict(xs) as tfTypes.Tensor))).dataSync()[0]).toBe(0);

    const input = tf.input({ shape: [6], name: 'x' });
    const a = tf.layers.dense({ units: 4, activation: 'relu', name: 'a' }).apply(input) as tfTypes.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(a) as tfTypes.SymbolicTensor;
    const b = tf.layers.dense({ units: 4, name: 'b' }).apply(input) as tfTypes.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat' }).apply([bn, b]) as tfTypes.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(cat) as tfTypes.SymbolicTensor) as tfTypes.SymbolicTensor;
    const fn = tf.model({ inputs: input, outputs: out });
    const x2 = tf.randomNormal([5, 6], 0, 1, 'float32', 9);
    const fk: string[] = [];
    const y2 = runLayerByLayer(tf, fn, x2, (k, t) => (fk.push(k), t));
    expect(tf.max(tf.abs(tf.sub(y2, fn.predict(x2) as tfTypes.Tensor))).dataSync()[0]).toBeLessThan(1e-6);
    // `a` feeds only batch norm (fused into it), dropout passes through.
    expect(fk).toEqual(['input:x', 'bn', 'b', 'cat', 'out']);
  });

  test('int8 simulation on a conv net with batch norm; percentile calibration; progress and abort', async () => {
    const cnn = await h.engine.buildModel({ arch: 'cnn', filters: [4, 8] });
    const dir = join(h.dir, 'cnn');
    await h.engine.saveModel(cnn, dir);
    const raw = { activations: 'int8', eval: 'test2d', calibration: { data: 'train2d', samples: 64, method: 'percentile', percentile: 99.9 } } as Record<string, Json>;
    const emptyTree: TreeNode = { kind: 'map', loc: { file: 't', line: 1, column: 1, sourceLine: '', length: 1 }, entries: new Map() };
    const config = checkStageConfig(quantizeStage.schema as never, raw, emptyTree, []).config as unknown as QuantizeConfig;
    const ctx = h.ctx();
    const r = await quantizeStage.run(ctx, config, modelInput(await h.artifact(dir)));
    const int8 = r.metrics!.int8 as Record<string, any>;
    expect(Object.keys(int8.ranges)).toEqual(['input:conv1_input', 'bn1', 'bn2', 'dense1']);
    expect(int8.kernels).toEqual(['conv1', 'conv2', 'dense1']);
    expect(int8.calibration).toEqual({ data: 'train2d', samples: 64, method: 'percentile', percentile: 99.9 });
    expect(typeof r.metrics!.int8Accuracy).toBe('number');
    const msgs = ctx.progressEvents.map((p) => p.message ?? '');
    expect(ctx.progressEvents.map((p) => p.done)).toEqual([0, 1, 2, 3, 4]);
    expect(msgs[3]).toMatch(/^simulating int8 inference/);
    expect(msgs[4]).toMatch(/^weights .* KB -> .* KB, accuracy .*%, int8 .*%$/);

    const aborted = h.ctx();
    const ac = new AbortController();
    ac.abort();
    await expect(quantizeStage.run({ ...aborted, signal: ac.signal }, { ...config, finetune: { ...config.finetune, epochs: 1, data: 'train2d' } }, modelInput(await h.artifact(dir)))).rejects.toThrow(/abort/i);
  });
});
