/**
 * Pruning a functional MobileNet-shaped model (test/helpers/functional-model.ts):
 * structured pruning that follows the graph (channel groups at residual
 * Adds, Concatenate offsets, depthwise and BN cut along, Dense after global
 * pooling), unstructured pruning of every kernel including depthwise and
 * separable ones, and the graph structures structured pruning refuses.
 *
 * The structured cuts are checked by equivalence: the pruned model's
 * predictions equal the original's with the removed channels zeroed (their
 * filters, biases and the gamma/beta of the BatchNormalizations they pass).
 */
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../../src/engine/tf.js';
import type { Json } from '../../../src/plugin.js';
import { StageConfigError } from '../../../src/plugin.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { functionalInputs, maxRelDiff, saveFunctionalModel, stockLoad, writeTinyImages } from '../../helpers/functional-model.js';

describe('prune on a functional graph', () => {
  let h: Harness;
  let saved: string;
  let converted: string;
  let n = 0;
  let tf: Tf;
  const prune = async (dir: string, config: Record<string, Json>) => {
    const r = await h.run(pruneStage, config, modelInput(await h.artifact(dir)));
    return { r, model: await h.engine.loadModel(r.outputs.model!), m: r.metrics as Record<string, any> };
  };
  const predict = async (model: LayersModel, count = 6) => {
    const x = tf.tensor(functionalInputs(count, 9), [count, 8, 8, 3]);
    const y = (model.predict(x) as Tensor).dataSync();
    x.dispose();
    return y;
  };
  /** Zeroes `channels` along `axis` of `layer`'s weight `suffix`. */
  const zero = (model: LayersModel, layer: string, suffix: string, axis: number, channels: number[]) => {
    const l = model.getLayer(layer);
    const i = l.weights.findIndex((w) => w.originalName.endsWith(`/${suffix}`));
    const weights = l.getWeights();
    const w = weights[i]!;
    const v = Float32Array.from(w.dataSync());
    const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const dim = w.shape[axis]!;
    for (let j = 0; j < v.length; j++) if (channels.includes(Math.floor(j / inner) % dim)) v[j] = 0;
    weights[i] = tf.tensor(v, w.shape);
    l.setWeights(weights);
  };

  beforeAll(async () => {
    h = await createHarness({ data: { tiny: { uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' } } });
    await writeTinyImages(h.dir);
    tf = await h.engine.tf();
    ({ saved, converted } = await saveFunctionalModel(h.engine, join(h.dir, 'models')));
  });
  afterAll(() => h.cleanup());

  test('structured: groups at Adds, Concatenate offsets, depthwise/BN/separable cut along; equals zeroing the removed channels', async () => {
    const { r, model, m } = await prune(saved, { method: 'structured', sparsity: 0.5 });
    const shape = (layer: string) => model.getLayer(layer).getWeights().map((w) => w.shape);
    // The stem and both projections meet at the Adds: one group of 8 channels, 4 go.
    expect(m.groups).toEqual([['Conv1', 'block_1_project', 'block_2_project']]);
    expect(m.layers.Conv1.removed).toEqual(m.layers.block_1_project.removed);
    expect(m.layers.Conv1.removed).toEqual(m.layers.block_2_project.removed);
    expect(m.layers.Conv1).toMatchObject({ filtersBefore: 8, filtersAfter: 4, group: ['Conv1', 'block_1_project', 'block_2_project'] });
    expect(shape('Conv1')).toEqual([[3, 3, 3, 4]]);
    expect(shape('bn_Conv1')).toEqual([[4], [4], [4], [4]]);
    expect(shape('block_1_expand')).toEqual([[1, 1, 4, 8]]);
    expect(shape('block_1_expand_BN')).toEqual([[8], [8], [8], [8]]);
    expect(shape('block_1_depthwise')).toEqual([[3, 3, 8, 1]]);
    expect(shape('block_1_depthwise_BN')).toEqual([[8], [8], [8], [8]]);
    expect(shape('block_1_project')).toEqual([[1, 1, 8, 4]]);
    expect(shape('block_2_project_BN')).toEqual([[4], [4], [4], [4]]);
    expect(shape('down_depthwise')).toEqual([[3, 3, 4, 1]]);
    expect(shape('down_BN')).toEqual([[4], [4], [4], [4]]);
    expect(shape('branch_a')).toEqual([[1, 1, 4, 3], [3]]);
    expect(shape('branch_b')).toEqual([[1, 1, 4, 2]]);
    expect(shape('sep')).toEqual([[3, 3, 5, 1], [1, 1, 5, 6], [6]]);
    expect(shape('predictions')).toEqual([[6, 10], [10]]);
    expect(m.paramsAfter).toBe(model.countParams());
    expect(m.macsAfter).toBeLessThan(m.macsBefore / 2);

    // The reference: the original with every removed channel's contribution zeroed.
    const ref = await h.engine.loadModel(saved);
    const removed = (l: string) => m.layers[l].removed as number[];
    const g = removed('Conv1');
    zero(ref, 'Conv1', 'kernel', 3, g);
    for (const bn of ['bn_Conv1', 'block_1_project_BN', 'block_2_project_BN', 'down_BN']) for (const s of ['gamma', 'beta']) zero(ref, bn, s, 0, g);
    for (const b of ['block_1', 'block_2']) {
      const e = removed(`${b}_expand`);
      expect(e).toHaveLength(8);
      for (const bn of [`${b}_expand_BN`, `${b}_depthwise_BN`]) for (const s of ['gamma', 'beta']) zero(ref, bn, s, 0, e);
    }
    zero(ref, 'branch_a', 'kernel', 3, removed('branch_a'));
    zero(ref, 'branch_a', 'bias', 0, removed('branch_a'));
    for (const s of ['gamma', 'beta']) zero(ref, 'branch_b_BN', s, 0, removed('branch_b'));
    zero(ref, 'sep', 'pointwise_kernel', 3, removed('sep'));
    zero(ref, 'sep', 'bias', 0, removed('sep'));
    const expected = await predict(ref);
    expect(maxRelDiff(await predict(model), expected)).toBeLessThan(1e-5);
    // Stock tfjs loads the pruned files and computes the same.
    expect(maxRelDiff(await predict(await stockLoad(tf, r.outputs.model!)), expected)).toBeLessThan(1e-5);
    // And it is not the unpruned model: the removed channels mattered.
    expect(maxRelDiff(await predict(await h.engine.loadModel(saved)), expected)).toBeGreaterThan(1e-3);
  });

  test('structured on the tfjs-converter form: the same cuts as on the saved form', async () => {
    const a = await prune(saved, { method: 'structured', sparsity: 0.25, criterion: 'l1' });
    const b = await prune(converted, { method: 'structured', sparsity: 0.25, criterion: 'l1' });
    expect(b.m.layers).toEqual(a.m.layers);
    // The group's 2 removed channels have the lowest L1 norms summed over its three kernels.
    const original = await h.engine.loadModel(saved);
    const norms = new Float64Array(8);
    for (const l of ['Conv1', 'block_1_project', 'block_2_project']) original.getLayer(l).getWeights()[0]!.dataSync().forEach((v, i) => (norms[i % 8] = norms[i % 8]! + Math.abs(v)));
    const order = Array.from(norms.keys()).sort((p, q) => norms[p]! - norms[q]!);
    expect(a.m.layers.Conv1.removed).toEqual(order.slice(0, 2).sort((p, q) => p - q));
    expect(maxRelDiff(await predict(b.model), await predict(a.model))).toBe(0);
  });

  test('structured, activation criterion on a group: ranked on the members\' summed mean |activation|', async () => {
    const { m } = await prune(saved, { method: 'structured', sparsity: 0.25, criterion: 'activation', calibration: { data: 'tiny', samples: 64 }, layers: { 're:^(Conv1|block_._project)$': {} } });
    expect(Object.keys(m.layers).filter((l) => m.layers[l].removed)).toEqual(['Conv1', 'block_1_project', 'block_2_project']);
    expect(m.layers.block_1_project).toMatchObject({ filtersBefore: 8, filtersAfter: 6 });
    // Independently: mean |output| per channel of each member over all 64 examples, summed.
    const original = await h.engine.loadModel(saved);
    const members = ['Conv1', 'block_1_project', 'block_2_project'];
    const probe = tf.model({ inputs: original.inputs, outputs: members.map((l) => original.getLayer(l).output as SymbolicTensor) });
    const ds = await h.ctx().data('tiny');
    const outs = probe.predict(tf.tensor(ds.x, [ds.count, 8, 8, 3])) as Tensor[];
    const sums = new Float64Array(8);
    for (const o of outs) tf.abs(o).reshape([-1, 8]).mean(0).dataSync().forEach((v, c) => (sums[c] = sums[c]! + v));
    const order = Array.from(sums.keys()).sort((p, q) => sums[p]! - sums[q]!);
    expect(m.layers.Conv1.removed).toEqual(order.slice(0, 2).sort((p, q) => p - q));
  });

  test('unstructured: every kernel, depthwise and separable included, at the target sparsity', async () => {
    const { model, m } = await prune(saved, { method: 'magnitude', sparsity: 0.5 });
    const kernels = ['Conv1', 'block_1_expand', 'block_1_depthwise', 'block_1_project', 'block_2_expand', 'block_2_depthwise', 'block_2_project', 'down_depthwise', 'branch_a', 'branch_b', 'sep', 'predictions'];
    expect(Object.keys(m.layers).sort()).toEqual(kernels.sort());
    expect(m.layers.block_1_depthwise).toMatchObject({ weights: 3 * 3 * 16, zeros: 72, sparsity: 0.5 });
    expect(m.layers.sep).toMatchObject({ weights: 3 * 3 * 10 + 10 * 12, sparsity: 0.5 });
    const dw = model.getLayer('down_depthwise').getWeights()[0]!.dataSync();
    expect(Array.from(dw).filter((v) => v === 0)).toHaveLength(36);
    const sep = model.getLayer('sep').getWeights().map((w) => Array.from(w.dataSync()).filter((v) => v === 0).length);
    expect(sep[0]! + sep[1]!).toBe(105);
  });

  test('unstructured with fine-tuning: masks hold on depthwise and separable kernels', async () => {
    // On cpu: tfjs-backend-wasm 4.22 has no depthwise gradient kernels yet,
    // and cpu trains the full fixture slowly, so a depthwise + separable
    // model of its shapes stands in for the training part.
    const cpu = await createHarness({ backend: 'cpu', data: { tiny: { uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' } } });
    try {
      await writeTinyImages(cpu.dir);
      const ctf = await cpu.engine.tf();
      const L = ctf.layers;
      const input = ctf.input({ shape: [8, 8, 3], name: 'input_1' });
      let x = L.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same' }).apply(input) as SymbolicTensor;
      x = L.separableConv2d({ name: 'sep', filters: 4, kernelSize: 3, padding: 'same' }).apply(x) as SymbolicTensor;
      x = L.globalAveragePooling2d({ name: 'pool' }).apply(x) as SymbolicTensor;
      const model = ctf.model({ inputs: input, outputs: L.dense({ name: 'out', units: 10, activation: 'softmax' }).apply(x) as SymbolicTensor });
      const dir = join(cpu.dir, 'dw-sep');
      await cpu.engine.saveModel(model, dir);
      const r = await cpu.run(pruneStage, { method: 'magnitude', sparsity: 0.5, finetune: { data: 'tiny', epochs: 1, batchSize: 32, learningRate: 0.05 } }, modelInput(await cpu.artifact(dir)));
      expect((r.metrics as Record<string, any>).finetune).toMatchObject({ epochs: 1, steps: 2 });
      // Masks chosen before training, so the trained model's zeros must sit where the masks put them.
      const masked = await cpu.run(pruneStage, { method: 'magnitude', sparsity: 0.5 }, modelInput(await cpu.artifact(dir)));
      const before = await cpu.engine.loadModel(masked.outputs.model!);
      const after = await cpu.engine.loadModel(r.outputs.model!);
      for (const [layer, i] of [['dw', 0], ['sep', 0], ['sep', 1], ['out', 0]] as const) {
        const w0 = before.getLayer(layer).getWeights()[i]!.dataSync();
        const w1 = after.getLayer(layer).getWeights()[i]!.dataSync();
        expect(Array.from(w1).filter((v) => v === 0)).toHaveLength(Math.round(w1.length / 2));
        Array.from(w0).forEach((v, j) => {
          if (v === 0) expect(w1[j]).toBe(0);
        });
        // The survivors moved: training happened.
        expect(Array.from(w1).some((v, j) => v !== 0 && v !== w0[j])).toBe(true);
      }
    } finally {
      await cpu.cleanup();
    }
  });

  describe('refusals on graphs', () => {
    const models: Record<string, string> = {};
    beforeAll(async () => {
      const tf = await h.engine.tf();
      const L = tf.layers;
      const ap = (layer: { apply: (x: SymbolicTensor | SymbolicTensor[]) => unknown }, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;
      const save = async (name: string, model: LayersModel) => {
        models[name] = join(h.dir, 'refuse', `${name}-${++n}`);
        await h.engine.saveModel(model, models[name]!);
      };
      let input = tf.input({ shape: [8], name: 'in' });
      let x = ap(L.dense({ name: 'a', units: 8 }), input);
      x = ap(L.reshape({ name: 'r', targetShape: [2, 4] }), x);
      x = ap(L.flatten({ name: 'f' }), x);
      await save('reshape', tf.model({ inputs: input, outputs: ap(L.dense({ name: 'out', units: 2 }), x) }));

      const img = tf.input({ shape: [4, 4, 3], name: 'in' });
      const c1 = ap(L.conv2d({ name: 'c1', filters: 8, kernelSize: 1 }), img);
      const c2 = ap(L.conv2d({ name: 'c2', filters: 1, kernelSize: 1 }), img);
      x = ap(L.multiply({ name: 'mul' }), [c1, c2]);
      x = ap(L.globalAveragePooling2d({ name: 'gap' }), x);
      await save('multiply', tf.model({ inputs: img, outputs: ap(L.dense({ name: 'out', units: 2 }), x) }));

      const i1 = tf.input({ shape: [8], name: 'i1' });
      const i2 = tf.input({ shape: [8], name: 'i2' });
      const shared = L.dense({ name: 'shared', units: 4 });
      const s1 = ap(shared, ap(L.dense({ name: 'a', units: 8 }), i1));
      const s2 = ap(shared, i2);
      await save('shared', tf.model({ inputs: [i1, i2], outputs: ap(L.dense({ name: 'out', units: 2 }), ap(L.concatenate({ name: 'cat' }), [s1, s2])) }));

      input = tf.input({ shape: [8], name: 'in' });
      const d1 = ap(L.dense({ name: 'd1', units: 4 }), input);
      const d2 = ap(L.dense({ name: 'd2', units: 4 }), input);
      await save('addOut', tf.model({ inputs: input, outputs: ap(L.add({ name: 'add' }), [d1, d2]) }));

      const res = tf.input({ shape: [4, 4, 3], name: 'in' });
      x = ap(L.add({ name: 'add' }), [res, ap(L.conv2d({ name: 'c', filters: 3, kernelSize: 1 }), res)]);
      x = ap(L.flatten({ name: 'f' }), x);
      await save('inputAdd', tf.model({ inputs: res, outputs: ap(L.dense({ name: 'out', units: 2 }), x) }));
    });

    test.each<[string, string, Record<string, Json>, string, (string | number)[]]>([
      ['part of a group', 'fixture', { layers: { Conv1: {} } }, 'layer `Conv1` shares its filters with `block_1_project`, `block_2_project` (they meet at `block_1_add`, `block_2_add`): they can only be pruned together', ['layers', 'Conv1']],
      ['one group, two sparsities', 'fixture', { layers: { Conv1: { sparsity: 0.5 }, 'block_*_project': { sparsity: 0.25 } } }, 'layers `Conv1` and `block_1_project` share their channels and are pruned together, so they need one sparsity (got 0.5 and 0.25)', ['layers', 'block_*_project', 'sparsity']],
      ['a Reshape that mixes channels', 'reshape', { layers: { a: {} } }, 'layer `a` feeds `r` (Reshape), which prune cannot cut to match', ['layers', 'a']],
      ['a Multiply of mismatched widths', 'multiply', { layers: { c1: {} } }, 'layer `c1` feeds `mul` (Multiply), which merges inputs of different widths (8 vs 1); prune cannot cut them together', ['layers', 'c1']],
      ['a shared layer downstream', 'shared', { layers: { a: {} } }, 'layer `a` feeds `shared` (Dense), which is shared (called on several inputs): structured pruning cannot follow it', ['layers', 'a']],
      ['a shared layer targeted', 'shared', { layers: { shared: {} } }, 'layer `shared` is shared (called on several inputs); structured pruning cannot follow it', ['layers', 'shared']],
      ['a group that is the model output', 'addOut', {}, 'layer `d1` feeds the model\'s output through `add`: removing its units would change the model\'s output', ['method']],
      ['a residual Add with the model input', 'inputAdd', { layers: { c: {} } }, 'layer `c`\'s filters meet the channels of the model\'s input `in` (at `add`), which cannot be removed', ['layers', 'c']],
    ])('%s', async (_, which, config, message, path) => {
      const dir = which === 'fixture' ? saved : models[which]!;
      const err = await prune(dir, { method: 'structured', ...config }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageConfigError);
      expect((err as StageConfigError).message).toBe(message);
      expect((err as StageConfigError).path).toEqual(path);
    });
  });
});
