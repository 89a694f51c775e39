/**
 * BatchNormalization folding on the functional fixture and on small models
 * built to hit each reason a BN must stay: outputs equal within 1e-5
 * relative, fewer layers and parameters, stock tfjs loads the result.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { createEngine } from '../../src/engine/engine.js';
import { readModelArtifacts, writeModelArtifacts } from '../../src/engine/model-io.js';
import type { Tf } from '../../src/engine/tf.js';
import { foldBatchNorm } from '../../src/formats/fold-batch-norm.js';
import { functionalInputs, maxRelDiff, randomize, saveFunctionalModel, stockLoad } from '../helpers/functional-model.js';

describe('foldBatchNorm', () => {
  const engine = createEngine('wasm', 1);
  let dir: string;
  let tf: Tf;
  let n = 0;
  const predict = (model: LayersModel, shape: number[]) => {
    // 5 examples (functionalInputs gives 192 values per example, enough for these shapes).
    const size = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(functionalInputs(5, 11).subarray(0, 5 * size), [5, ...shape]);
    const y = (model.predict(x) as Tensor).dataSync();
    x.dispose();
    return y;
  };
  /** Folds the model saved in `src`, writes and reloads the result with stock tfjs. */
  const fold = async (src: string) => {
    const { artifacts, report } = foldBatchNorm(await readModelArtifacts(src));
    const out = join(dir, `folded${++n}`);
    await writeModelArtifacts(artifacts, out);
    return { report, model: await stockLoad(tf, out) };
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-fold-'));
    tf = await engine.tf();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('the functional fixture: every BN folds into its conv (depthwise included), same outputs', async () => {
    const { model, saved, converted } = await saveFunctionalModel(engine, dir);
    for (const src of [saved, converted]) {
      const { report, model: folded } = await fold(src);
      expect(report.folded).toEqual([
        { batchNorm: 'bn_Conv1', into: 'Conv1' },
        ...[1, 2].flatMap((b) => ['expand', 'depthwise', 'project'].map((s) => ({ batchNorm: `block_${b}_${s}_BN`, into: `block_${b}_${s}` }))),
        { batchNorm: 'down_BN', into: 'down_depthwise' },
        { batchNorm: 'branch_b_BN', into: 'branch_b' },
      ].sort((a, b) => model.layers.findIndex((l) => l.name === a.batchNorm) - model.layers.findIndex((l) => l.name === b.batchNorm)));
      expect(report.kept).toEqual([]);
      expect(folded.layers).toHaveLength(model.layers.length - 9);
      expect(folded.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
      // Each fold: 4 parameters per channel go, a bias of 1 per channel comes (the convs had none).
      const channels = 8 + 2 * (16 + 16 + 8) + 8 + 4;
      expect(report.paramsBefore).toBe(model.countParams());
      expect(report.paramsAfter).toBe(model.countParams() - 3 * channels);
      expect(folded.countParams()).toBe(report.paramsAfter);
      expect(report).toMatchObject({ layersBefore: model.layers.length, layersAfter: model.layers.length - 9 });
      expect(maxRelDiff(predict(folded, [8, 8, 3]), predict(model, [8, 8, 3]))).toBeLessThan(1e-5);
    }
  });

  test('BNs that cannot fold stay, with the reason; the rest fold; outputs equal', async () => {
    const L = tf.layers;
    const ap = (layer: { apply: (x: SymbolicTensor | SymbolicTensor[]) => unknown }, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;
    const input = tf.input({ shape: [4, 4, 3], name: 'in' });
    const relu = ap(L.batchNormalization({ name: 'bn_after_relu' }), ap(L.conv2d({ name: 'c_relu', filters: 3, kernelSize: 1, activation: 'relu' }), input));
    const c2 = ap(L.conv2d({ name: 'c_twice', filters: 3, kernelSize: 1 }), input);
    const bn2 = ap(L.batchNormalization({ name: 'bn_of_shared_output' }), c2);
    const add = ap(L.add({ name: 'add' }), [relu, bn2, c2]);
    const bn3 = ap(L.batchNormalization({ name: 'bn_after_add' }), add);
    const d = ap(L.dense({ name: 'd', units: 5 }), ap(L.flatten({ name: 'f' }), bn3));
    const out = ap(L.batchNormalization({ name: 'bn_dense' }), d);
    const model = tf.model({ inputs: input, outputs: out });
    randomize(tf, model, 5);
    const src = join(dir, 'kept');
    await engine.saveModel(model, src);
    const { report, model: folded } = await fold(src);
    expect(report.folded).toEqual([{ batchNorm: 'bn_dense', into: 'd' }]);
    expect(report.kept).toEqual([
      { layer: 'bn_after_relu', reason: '`c_relu` applies relu before it' },
      { layer: 'bn_of_shared_output', reason: '`c_twice`\'s output also goes elsewhere, which would see the folded values' },
      { layer: 'bn_after_add', reason: 'its input `add` is an Add, not a Conv2D, DepthwiseConv2D or Dense' },
    ].sort((a, b) => model.layers.findIndex((l) => l.name === a.layer) - model.layers.findIndex((l) => l.name === b.layer)));
    // The folded BN was the model's output: the output is now `d`.
    expect(folded.outputNames).toEqual(['d']);
    expect(maxRelDiff(predict(folded, [4, 4, 3]), predict(model, [4, 4, 3]))).toBeLessThan(1e-5);
  });

  test('a Sequential model: BN after a linear Dense folds, with or without a bias', async () => {
    const seq = tf.sequential();
    seq.add(tf.layers.dense({ name: 'd1', units: 6, inputShape: [192] }));
    seq.add(tf.layers.batchNormalization({ name: 'bn1' }));
    seq.add(tf.layers.activation({ name: 'a1', activation: 'relu' }));
    seq.add(tf.layers.dense({ name: 'd2', units: 3, useBias: false }));
    seq.add(tf.layers.batchNormalization({ name: 'bn2' }));
    randomize(tf, seq, 9);
    const src = join(dir, 'seq');
    await engine.saveModel(seq, src);
    const { report, model } = await fold(src);
    expect(report.folded).toEqual([{ batchNorm: 'bn1', into: 'd1' }, { batchNorm: 'bn2', into: 'd2' }]);
    expect(model.layers.map((l) => l.name)).toEqual(['d1', 'a1', 'd2']);
    expect(model.getLayer('d2').getWeights().map((w) => w.shape)).toEqual([[6, 3], [3]]);
    expect(maxRelDiff(predict(model, [192]), predict(seq, [192]))).toBeLessThan(1e-5);
  });
});
