/**
 * BatchNormalization recalibration after fine-tuning. The regression it
 * guards: the example's pre-trained MobileNetV2 (Keras momentum 0.999),
 * pruned and fine-tuned, kept the moving statistics of the unpruned weights
 * and predicted almost one class at inference (6.5% on MNIST) while it had
 * learned fine (74% with batch statistics). Here a tiny conv net with stale
 * statistics stands in for it: after `finetune()` its moving mean must be the
 * mean of what the fine-tuned convolution outputs, not the stale value.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { finetune } from '../../../src/stages/training/finetune.js';
import { batchNormLayers, recalibrateBatchNorm } from '../../../src/stages/training/recalibrate-batch-norm.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

type Tf = typeof import('@tensorflow/tfjs');
const STALE_MEAN = 5;
const SETTINGS = { epochs: 1, batchSize: 16, optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, schedule: { kind: 'constant' } } as const;

/** conv (4 filters) -> BN (Keras' momentum 0.999, stale moving mean) -> pooling -> softmax. */
function staleBnNet(tf: Tf): LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  const conv = tf.layers.conv2d({ name: 'conv', filters: 4, kernelSize: 3, kernelInitializer: 'glorotUniform' }).apply(input);
  const bn = tf.layers.batchNormalization({ name: 'bn', momentum: 0.999 }).apply(conv);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(bn);
  const out = tf.layers.dense({ name: 'out', units: 10, activation: 'softmax' }).apply(pooled) as never;
  const model = tf.model({ inputs: input, outputs: out });
  const [gamma, beta, , variance] = model.getLayer('bn').getWeights();
  model.getLayer('bn').setWeights([gamma!, beta!, tf.fill([4], STALE_MEAN), variance!]);
  return model;
}

/** Per-channel mean of the conv layer's outputs over every example (what the moving mean should become). */
function convMean(tf: Tf, model: LayersModel, x: Float32Array, n: number): number[] {
  return tf.tidy(() => Array.from((tf.mean(model.getLayer('conv').apply(tf.tensor4d(x, [n, 8, 8, 1])) as never, [0, 1, 2]) as { dataSync(): Float32Array }).dataSync()));
}

function movingMean(model: LayersModel): number[] {
  return Array.from(model.getLayer('bn').getWeights()[2]!.dataSync());
}

describe('BatchNormalization recalibration', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ data: { digits: { uses: 'mnist', split: 'train', limit: 64, size: [8, 8] } } });
  });
  afterAll(() => h.cleanup());

  test('the moving mean becomes the average over the batches; weights and momentum are untouched', async () => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('digits');
    const model = staleBnNet(tf);
    const kernel = Array.from(model.getLayer('conv').getWeights()[0]!.dataSync());
    // 4 batches of 16 = all 64 digits, so the average of batch means is the mean over all of them.
    const r = await recalibrateBatchNorm(tf, model, ds, { batches: 20, batchSize: 16, seed: 1 });
    expect(r).toEqual({ layers: 1, batches: 4, examples: 64 });
    const want = convMean(tf, model, ds.x, 64);
    movingMean(model).forEach((m, c) => expect(m).toBeCloseTo(want[c]!, 4));
    expect(Array.from(model.getLayer('conv').getWeights()[0]!.dataSync())).toEqual(kernel);
    expect(batchNormLayers(model).map((l) => l.momentum)).toEqual([0.999]);
    model.dispose();
  });

  test('a model without BatchNormalization is left alone', async () => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('digits');
    const model = await h.engine.buildModel({ arch: 'mlp', units: [4], inputShape: [8, 8, 1] });
    expect(await recalibrateBatchNorm(tf, model, ds, { batches: 20, batchSize: 16, seed: 1 })).toEqual({ layers: 0, batches: 0, examples: 0 });
    model.dispose();
  });

  // [case, recalibrateBatchNorm option, moving mean after fine-tuning]
  test.each([
    ['default (20 batches): the statistics of the fine-tuned weights', undefined, 'recalibrated'],
    ['0 (off): still near the stale value, as before recalibration existed', 0, 'stale'],
  ] as const)('finetune() with recalibrateBatchNorm %s', async (_, option, expected) => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('digits');
    const model = staleBnNet(tf);
    const r = await finetune(h.ctx(), model, { data: 'digits', ...SETTINGS, ...(option === undefined ? {} : { recalibrateBatchNorm: option }) });
    const mean = movingMean(model);
    if (expected === 'recalibrated') {
      expect(r.batchNorm).toEqual({ layers: 1, batches: 4, examples: 64 });
      const want = convMean(tf, model, ds.x, 64);
      mean.forEach((m, c) => expect(m).toBeCloseTo(want[c]!, 4));
    } else {
      expect(r.batchNorm).toBeUndefined();
      // 4 steps at momentum 0.999 keep 99.6% of the stale value.
      mean.forEach((m) => expect(m).toBeGreaterThan(STALE_MEAN * 0.99));
    }
    model.dispose();
  });
});
