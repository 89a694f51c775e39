/**
 * The quantize stage on the functional MobileNet-shaped fixture: every
 * kernel (depthwise and separable included) stored uint8, stock tfjs loads
 * the graph, each weight it loads is within the stored quantization error of
 * the original, predictions stay close; `foldBatchNorm: true` removes the
 * BatchNormalization layers with the same outputs (within 1e-5 relative).
 */
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../../src/engine/tf.js';
import type { ArtifactRef } from '../../../src/plugin.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { functionalInputs, maxRelDiff, saveFunctionalModel, stockLoad } from '../../helpers/functional-model.js';

describe('quantize on a functional graph', () => {
  let h: Harness;
  let tf: Tf;
  let original: LayersModel;
  let input: ArtifactRef;
  const predict = (model: LayersModel) => {
    const x = tf.tensor(functionalInputs(8, 13), [8, 8, 8, 3]);
    const y = (model.predict(x) as Tensor).dataSync();
    x.dispose();
    return y;
  };

  beforeAll(async () => {
    h = await createHarness();
    tf = await h.engine.tf();
    const saved = await saveFunctionalModel(h.engine, join(h.dir, 'models'));
    original = saved.model;
    input = await h.artifact(saved.saved);
  });
  afterAll(() => h.cleanup());

  test('uint8, every tensor: stock tfjs loads it, weights within the quantization error, predictions close', async () => {
    const r = await h.run(quantizeStage, { weights: 'uint8', minSize: 0 }, modelInput(input));
    const m = r.metrics as Record<string, any>;
    const model = await stockLoad(tf, r.outputs.model!);
    expect(model.layers.map((l) => l.name)).toEqual(original.layers.map((l) => l.name));
    for (const layer of ['block_1_depthwise', 'down_depthwise', 'sep', 'Conv1', 'bn_Conv1']) {
      const errors = m.layers[layer].tensors as Record<string, { stored: string; maxError: number }>;
      const got = model.getLayer(layer).getWeights();
      original.getLayer(layer).getWeights().forEach((w, i) => {
        const name = original.getLayer(layer).weights[i]!.originalName;
        expect(errors[name]!.stored).toBe('uint8');
        const a = w.dataSync();
        const b = got[i]!.dataSync();
        let worst = 0;
        for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
        expect(worst).toBeLessThanOrEqual(errors[name]!.maxError + 1e-7);
        expect(errors[name]!.maxError).toBeGreaterThan(0);
      });
    }
    const want = predict(original);
    const got = predict(model);
    expect(maxRelDiff(got, want)).toBeLessThan(0.05);
    expect(maxRelDiff(got, want)).toBeGreaterThan(0);
  });

  test('foldBatchNorm: fewer layers and parameters, same outputs within 1e-5 relative (weights: none), and with uint8', async () => {
    const r = await h.run(quantizeStage, { weights: 'none', foldBatchNorm: true }, modelInput(input));
    const m = r.metrics as Record<string, any>;
    expect(m.foldBatchNorm.folded).toHaveLength(9);
    expect(m.foldBatchNorm.kept).toEqual([]);
    const model = await stockLoad(tf, r.outputs.model!);
    expect(model.layers).toHaveLength(original.layers.length - 9);
    expect(model.countParams()).toBe(m.foldBatchNorm.paramsAfter);
    expect(model.countParams()).toBeLessThan(original.countParams());
    expect(maxRelDiff(predict(model), predict(original))).toBeLessThan(1e-5);

    const q = await h.run(quantizeStage, { weights: 'uint8', minSize: 0, foldBatchNorm: true }, modelInput(input));
    const qm = await stockLoad(tf, q.outputs.model!);
    // The folded kernels are what got quantized: block_1_depthwise's stored values equal the folded ones within the error.
    const folded = model.getLayer('block_1_depthwise').getWeights()[0]!.dataSync();
    const stored = qm.getLayer('block_1_depthwise').getWeights()[0]!.dataSync();
    const err = (q.metrics as Record<string, any>).layers.block_1_depthwise.tensors['block_1_depthwise/depthwise_kernel'].maxError as number;
    for (let j = 0; j < folded.length; j++) expect(Math.abs(folded[j]! - stored[j]!)).toBeLessThanOrEqual(err + 1e-7);
    expect(maxRelDiff(predict(qm), predict(original))).toBeLessThan(0.05);
  });
});
