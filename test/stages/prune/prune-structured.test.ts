/**
 * Structured pruning with physical removal: Dense units on a trained MLP
 * (784-300-100-10), conv filters through BatchNormalization and
 * Flatten on a cnn and LeNet-5, neuron pruning by activation, parameter
 * counts, and the structures it refuses (exact messages and recipe paths).
 *
 * Correctness of the cuts is checked by equivalence: removing a unit must
 * give the same predictions as keeping it and zeroing the weights that read
 * it in the next layer.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Json } from '../../../src/plugin.js';
import { StageConfigError } from '../../../src/plugin.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

describe('prune: structured', () => {
  let h: Harness;
  let mlpDir: string;
  let n = 0;
  const save = async (model: LayersModel): Promise<string> => {
    const dir = join(h.dir, 'models', `m${++n}`);
    await h.engine.saveModel(model, dir);
    return dir;
  };
  const prune = async (dir: string, config: Record<string, Json>) => {
    const r = await h.run(pruneStage, { method: 'structured', ...config }, modelInput(await h.artifact(dir)));
    return { r, model: await h.engine.loadModel(r.outputs.model!), m: r.metrics as Record<string, any> };
  };
  /** Max |difference| of two models' predictions on the first `count` examples of a dataset. */
  const maxDiff = async (a: LayersModel, b: LayersModel, data: string, count: number) => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data(data);
    const x = tf.tensor(ds.x.subarray(0, count * ds.x.length / ds.count), [count, ...ds.shape]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a.predict(x) as Tensor, b.predict(x) as Tensor))));
    const v = (await d.data())[0]!;
    tf.dispose([x, d]);
    return v;
  };
  /** Sets `layer`'s weight `suffix` to `fn(values, shape)`. */
  const edit = async (model: LayersModel, layer: string, suffix: string, fn: (v: Float32Array, shape: number[]) => void) => {
    const tf = await h.engine.tf();
    const weights = model.getLayer(layer).getWeights();
    const names = model.getLayer(layer).weights.map((w) => w.originalName);
    const i = names.findIndex((nm) => nm.endsWith(`/${suffix}`));
    const v = Float32Array.from(await weights[i]!.data());
    fn(v, weights[i]!.shape);
    weights[i] = tf.tensor(v, weights[i]!.shape);
    model.getLayer(layer).setWeights(weights);
  };

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300, 100] } } });
    mlpDir = (await h.run(trainStage, { data: 'train', epochs: 2, learningRate: 0.002 })).outputs.model!;
  });
  afterAll(() => h.cleanup());

  test('25% of an MLP\'s units go: smaller shapes, exact parameter counts, accuracy close after fine-tuning', async () => {
    const { r, model, m } = await prune(mlpDir, { sparsity: 0.25, finetune: { epochs: 1, learningRate: 0.0005 }, eval: 'test' });
    expect(model.getLayer('dense1').getWeights()[0]!.shape).toEqual([784, 225]);
    expect(model.getLayer('dense2').getWeights()[0]!.shape).toEqual([225, 75]);
    expect(model.getLayer('dense3').getWeights()[0]!.shape).toEqual([75, 10]);
    expect(m.paramsBefore).toBe(784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
    expect(m.paramsAfter).toBe(784 * 225 + 225 + 225 * 75 + 75 + 75 * 10 + 10);
    expect(model.countParams()).toBe(m.paramsAfter);
    expect(m.macsAfter).toBe(784 * 225 + 225 * 75 + 75 * 10);
    expect(m.layers.dense1).toMatchObject({ unitsBefore: 300, unitsAfter: 225, paramsBefore: 784 * 300 + 300, paramsAfter: 784 * 225 + 225 });
    expect(m.layers.dense1.removed).toHaveLength(75);
    expect(m.layers.dense3).toEqual({ paramsBefore: 1010, paramsAfter: 760 });
    expect(m.accuracyBefore).toBeGreaterThan(80);
    expect(m.accuracy).toBeGreaterThan(m.accuracyBefore - 3);
    const meta = JSON.parse(await readFile(join(r.outputs.model!, 'meta.json'), 'utf8'));
    expect(meta.metrics.layers).toEqual(m.layers);
    expect(meta.metrics.pruneMs).toBeUndefined();
    // One fine-tuning epoch over the 2,000 training images in batches of 64 (finetune's default).
    expect(meta.metrics.finetune).toMatchObject({ epochs: 1, steps: Math.ceil(2000 / 64) });
    // The artifact is a plain tfjs model with the new widths in its config.
    const json = JSON.parse(await readFile(join(r.outputs.model!, 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers.map((l: any) => l.config.units)).toEqual([225, 75, 10]);
  });

  test('same seed and config, same bytes (activation ranking on seeded samples, fine-tuned)', async () => {
    const config = { criterion: 'activation', calibration: { samples: 300 }, sparsity: 0.3, finetune: { epochs: 1 } };
    const a = await prune(mlpDir, config);
    const b = await prune(mlpDir, config);
    for (const f of ['group1-shard1of1.bin', 'model.json', 'meta.json']) {
      expect((await readFile(join(b.r.outputs.model!, f))).equals(await readFile(join(a.r.outputs.model!, f)))).toBe(true);
    }
  });

  test('removal equals zeroing what reads the removed units; the lowest L2 norms go', async () => {
    const original = await h.engine.loadModel(mlpDir);
    const { model, m } = await prune(mlpDir, { sparsity: 0.5, criterion: 'l2' });
    const removed1: number[] = m.layers.dense1.removed;
    const removed2: number[] = m.layers.dense2.removed;
    expect(removed1).toHaveLength(150);
    expect(removed2).toHaveLength(50);
    // Lowest L2 norms of incoming weights.
    const k = await original.getLayer('dense1').getWeights()[0]!.data();
    const norms = Array.from({ length: 300 }, (_, j) => Math.sqrt(Array.from({ length: 784 }, (_, i) => k[i * 300 + j]! ** 2).reduce((a, b) => a + b, 0)));
    const cut = Math.max(...removed1.map((j) => norms[j]!));
    norms.forEach((v, j) => {
      if (!removed1.includes(j)) expect(v).toBeGreaterThanOrEqual(cut);
    });
    await edit(original, 'dense2', 'kernel', (v) => removed1.forEach((r) => v.fill(0, r * 100, r * 100 + 100)));
    await edit(original, 'dense3', 'kernel', (v) => removed2.forEach((r) => v.fill(0, r * 10, r * 10 + 10)));
    expect(await maxDiff(original, model, 'test', 200)).toBeLessThan(1e-5);
  });

  test('criterion: activation removes the least active units (neuron pruning)', async () => {
    const model = await h.engine.loadModel(mlpDir);
    const act = await prune(mlpDir, { criterion: 'activation', calibration: { data: 'train', samples: 5000 }, layers: { dense1: { sparsity: 0.1 } } });
    const removed: number[] = act.m.layers.dense1.removed;
    expect(removed).toHaveLength(30);
    expect(act.model.getLayer('dense1').getWeights()[0]!.shape).toEqual([784, 270]);
    // Independently: mean |ReLU output| over the calibration set (all 2,000 images here).
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('train');
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('dense1').output as import('@tensorflow/tfjs').SymbolicTensor });
    const means = await tf.tidy(() => tf.abs(probe.predict(tf.tensor(ds.x, [ds.count, 784])) as Tensor).mean(0)).data();
    const maxRemoved = Math.max(...removed.map((j) => means[j]!));
    const minKept = Math.min(...Array.from(means).filter((_, j) => !removed.includes(j)));
    expect(maxRemoved).toBeLessThanOrEqual(minKept + 1e-6);
    // Weight norms rank differently: they cannot see which units never fire.
    const l1 = await prune(mlpDir, { criterion: 'l1', layers: { dense1: { sparsity: 0.1 } } });
    expect(l1.m.layers.dense1.removed).not.toEqual(removed);
  });

  test('conv filters through BatchNormalization, pooling and Flatten (cnn)', async () => {
    const tf = await h.engine.tf();
    const cnn = await h.engine.buildModel({ arch: 'cnn', filters: [4, 8] });
    // Non-trivial batch-norm statistics and biases, so a wrong cut shows in the predictions.
    let seed = 11;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    cnn.setWeights(cnn.getWeights().map((w) => {
      const name = w.shape.length === 1 ? 'vector' : 'kernel';
      if (name === 'kernel') return w;
      return tf.tensor(Float32Array.from({ length: w.size }, () => 0.5 + rand()), w.shape);
    }));
    const dir = await save(cnn);
    const { model, m } = await prune(dir, { sparsity: 0.5 });
    expect(model.getLayer('conv1').getWeights()[0]!.shape).toEqual([3, 3, 1, 2]);
    expect(model.getLayer('bn1').getWeights().map((w) => w.shape)).toEqual([[2], [2], [2], [2]]);
    expect(model.getLayer('conv2').getWeights()[0]!.shape).toEqual([3, 3, 2, 4]);
    expect(model.getLayer('bn2').getWeights().map((w) => w.shape)).toEqual([[4], [4], [4], [4]]);
    expect(model.getLayer('dense1').getWeights()[0]!.shape).toEqual([7 * 7 * 4, 10]);
    expect(m.layers.conv1).toMatchObject({ filtersBefore: 4, filtersAfter: 2 });
    expect(m.layers.conv2).toMatchObject({ filtersBefore: 8, filtersAfter: 4 });
    expect(m.paramsAfter).toBe(model.countParams());
    expect(m.paramsAfter).toBe((9 * 2 + 2) + 4 * 2 + (9 * 2 * 4 + 4) + 4 * 4 + (196 * 10 + 10));
    // Equivalence: zero conv2's input channels and dense1's flattened rows of the removed filters.
    const original = await h.engine.loadModel(dir);
    const r1: number[] = m.layers.conv1.removed;
    const r2: number[] = m.layers.conv2.removed;
    await edit(original, 'conv2', 'kernel', (v) => {
      for (let i = 0; i < v.length; i++) if (r1.includes(Math.floor(i / 8) % 4)) v[i] = 0;
    });
    await edit(original, 'dense1', 'kernel', (v) => {
      for (let row = 0; row < 392; row++) if (r2.includes(row % 8)) v.fill(0, row * 10, row * 10 + 10);
    });
    expect(await maxDiff(original, model, 'test2d', 50)).toBeLessThan(1e-5);
  });

  test('LeNet-5: every hidden layer by default, the output layer left alone', async () => {
    const lenet = await h.engine.buildModel({ arch: 'lenet5' });
    const dir = await save(lenet);
    const { model, m } = await prune(dir, { sparsity: 0.5 });
    expect(Object.keys(m.layers).sort()).toEqual(['conv1', 'conv2', 'dense1', 'dense2']);
    expect(m.layers.dense2).toEqual({ paramsBefore: 5010, paramsAfter: 2510 });
    expect(m.paramsBefore).toBe(431080);
    expect(m.paramsAfter).toBe((25 * 10 + 10) + (25 * 10 * 25 + 25) + (4 * 4 * 25 * 250 + 250) + (250 * 10 + 10));
    expect(m.macsAfter).toBeLessThan(m.macsBefore / 3);
    const tf = await h.engine.tf();
    const p = model.predict(tf.zeros([1, 28, 28, 1])) as Tensor;
    expect(p.shape).toEqual([1, 10]);
  });

  describe('refusals', () => {
    let special: Record<string, string>;
    beforeAll(async () => {
      const tf = await h.engine.tf();
      const norm = tf.sequential({ name: 'norm' });
      norm.add(tf.layers.dense({ name: 'a', units: 8, inputShape: [784], activation: 'relu' }));
      norm.add(tf.layers.layerNormalization({ name: 'ln' }));
      norm.add(tf.layers.dense({ name: 'out', units: 10, activation: 'softmax' }));
      const input = tf.input({ shape: [784], name: 'in' });
      const a = tf.layers.dense({ name: 'a', units: 8 }).apply(input) as import('@tensorflow/tfjs').SymbolicTensor;
      const b = tf.layers.dense({ name: 'b', units: 4 }).apply(a) as import('@tensorflow/tfjs').SymbolicTensor;
      const c = tf.layers.dense({ name: 'c', units: 4 }).apply(a) as import('@tensorflow/tfjs').SymbolicTensor;
      const cat = tf.layers.concatenate({ name: 'cat' }).apply([b, c]) as import('@tensorflow/tfjs').SymbolicTensor;
      const out = tf.layers.dense({ name: 'out', units: 10, activation: 'softmax' }).apply(cat) as import('@tensorflow/tfjs').SymbolicTensor;
      const branchy = tf.model({ name: 'branchy', inputs: input, outputs: out });
      const tail = tf.sequential({ name: 'tail' });
      tail.add(tf.layers.dense({ name: 'hidden', units: 8, inputShape: [784], activation: 'relu' }));
      tail.add(tf.layers.dense({ name: 'logits', units: 10 }));
      tail.add(tf.layers.activation({ name: 'softmax', activation: 'softmax' }));
      special = { norm: await save(norm), branchy: await save(branchy), tail: await save(tail) };
    });

    test('a branch and a Concatenate, refused while pruning followed chains only, are cut', async () => {
      const a = await prune(special.branchy!, { layers: { a: { sparsity: 0.5 } } });
      expect(a.model.getLayer('a').getWeights()[0]!.shape).toEqual([784, 4]);
      expect(a.model.getLayer('b').getWeights()[0]!.shape).toEqual([4, 4]);
      expect(a.model.getLayer('c').getWeights()[0]!.shape).toEqual([4, 4]);
      const c = await prune(special.branchy!, { layers: { c: { sparsity: 0.5 } } });
      // c's channels sit after b's 4 in the Concatenate: `out` loses rows 4 + removed.
      const removed: number[] = c.m.layers.c.removed;
      const original = await h.engine.loadModel(special.branchy!);
      const k = await original.getLayer('out').getWeights()[0]!.data();
      const kept = Array.from({ length: 8 }, (_, r) => r).filter((r) => !removed.map((x) => 4 + x).includes(r));
      expect(Array.from(await c.model.getLayer('out').getWeights()[0]!.data())).toEqual(kept.flatMap((r) => Array.from(k.subarray(r * 10, r * 10 + 10))));
    });

    test.each<[string, string, Record<string, Json>, string, (string | number)[]]>([
      ['the output layer, named', 'mlp', { layers: { dense3: {} } }, 'layer `dense3` is the model\'s output layer: removing its units would change the model\'s output', ['layers', 'dense3']],
      ['the output layer, through a glob', 'mlp', { layers: { 'dense*': { sparsity: 0.1 } } }, 'layer `dense3` is the model\'s output layer: removing its units would change the model\'s output', ['layers', 'dense*']],
      ['a layer feeding the output through an Activation', 'tail', { layers: { logits: {} } }, 'layer `logits` feeds the model\'s output through `softmax`: removing its units would change the model\'s output', ['layers', 'logits']],
      ['a layer type it cannot cut', 'norm', {}, 'layer `a` feeds `ln` (LayerNormalization), which prune cannot cut to match', ['method']],
      ['removing every unit', 'mlp', { layers: { dense2: { sparsity: 1 } } }, 'sparsity 1 would remove all 100 units of layer `dense2`; at most 99 can go', ['layers', 'dense2', 'sparsity']],
      ['a schedule', 'mlp', { schedule: { epochs: 1 } }, '`schedule` raises sparsity gradually by masking weights; `method: structured` removes units at once (fine-tune the smaller model with `finetune:` instead)', ['schedule']],
      ['global scope', 'mlp', { scope: 'global' }, '`scope: global` applies to `method: magnitude`; structured pruning removes a fraction of each layer\'s units', ['scope']],
      ['a pattern matching no layer', 'mlp', { layers: { conv1: {} } }, 'pattern `conv1` matches no layer of the model', ['layers', 'conv1']],
    ])('%s', async (_, which, config, message, path) => {
      const dir = which === 'mlp' ? mlpDir : special[which]!;
      const err = await prune(dir, config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageConfigError);
      expect((err as StageConfigError).message).toBe(message);
      expect((err as StageConfigError).path).toEqual(path);
    });
  });
});
