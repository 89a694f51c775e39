/**
 * The share stage on the functional MobileNet-shaped fixture: every kernel,
 * depthwise and separable (both its kernels) included, holds at most 2^bits
 * distinct values in what stock tfjs loads, and the graph's predictions stay
 * close to the original's.
 */
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { shareStage } from '../../../src/stages/share/share.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { functionalInputs, maxRelDiff, saveFunctionalModel, stockLoad } from '../../helpers/functional-model.js';

describe('share on a functional graph', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.cleanup());

  test('bits: 3 -> at most 8 distinct values in every kernel, depthwise and pointwise included; outputs close', async () => {
    const tf = await h.engine.tf();
    const { model: original, saved } = await saveFunctionalModel(h.engine, join(h.dir, 'models'));
    const r = await h.run(shareStage, { bits: 3 }, modelInput(await h.artifact(saved)));
    const m = r.metrics as Record<string, any>;
    const model = await stockLoad(tf, r.outputs.model!);
    const kernels: [string, string][] = [
      ['Conv1', 'kernel'], ['block_1_expand', 'kernel'], ['block_1_depthwise', 'depthwise_kernel'], ['block_1_project', 'kernel'],
      ['block_2_depthwise', 'depthwise_kernel'], ['down_depthwise', 'depthwise_kernel'], ['branch_a', 'kernel'], ['branch_b', 'kernel'],
      ['sep', 'depthwise_kernel'], ['sep', 'pointwise_kernel'], ['predictions', 'kernel'],
    ];
    for (const [layer, role] of kernels) {
      expect(m.layers[layer][role]).toBeDefined();
      const l = model.getLayer(layer);
      const i = l.weights.findIndex((w) => w.originalName === `${layer}/${role}`);
      const values = new Set(Array.from(l.getWeights()[i]!.dataSync()));
      expect(values.size).toBeLessThanOrEqual(8);
      // Not trivially: the original had more distinct values than that.
      const before = original.getLayer(layer).getWeights()[i]!.dataSync();
      expect(new Set(Array.from(before)).size).toBeGreaterThan(8);
    }
    // BN parameters and biases are not clustered.
    expect(Array.from(model.getLayer('bn_Conv1').getWeights()[0]!.dataSync())).toEqual(Array.from(original.getLayer('bn_Conv1').getWeights()[0]!.dataSync()));
    const x = tf.tensor(functionalInputs(8, 21), [8, 8, 8, 3]);
    expect(maxRelDiff((model.predict(x) as Tensor).dataSync(), (original.predict(x) as Tensor).dataSync())).toBeLessThan(0.1);
  });
});
