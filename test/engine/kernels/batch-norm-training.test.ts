/**
 * Training-mode batch norm as one kernel each way on wasm
 * (src/engine/kernels/batch-norm-training.ts) and the layer patch that uses it
 * (src/engine/fused-batch-norm-training.ts), against what tfjs computes on
 * cpu: tf.moments + tf.batchNorm, op by op, then the MobileNetV2-block
 * fixture (real trained weights) on real MNIST digits: gradients of every
 * trainable weight and the moving statistics after a training call.
 */
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { mnistLoader } from '../../../src/data/mnist.js';
import { useFusedBatchNormTraining } from '../../../src/engine/fused-batch-norm-training.js';
import { BATCH_NORM_TRAINING } from '../../../src/engine/kernels/batch-norm-training.js';
import { loadModelDir } from '../../../src/engine/model-io.js';
import { errorStats, firstMismatch, KERNEL_TOLERANCE, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId, Tolerance } from './helpers.js';

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };
const FIXTURE = join(process.cwd(), 'test/fixtures/models/mobilenet-tiny');
const EPS = 1e-3;

beforeAll(async () => {
  await setupBackends();
});

/** y, mean, variance and the gradients of sum(y * probe) w.r.t. x, gamma, beta. */
async function normAndGrads(backend: BackendId, shape: number[], fused: boolean, seed: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const c = shape[shape.length - 1]!;
  return tf.tidy(() => {
    // Offset and spread per channel, like activations: the mean matters.
    const x = tf.add(tf.mul(tf.tensor(uniform(shape, seed), shape), 3), tf.tensor(uniform([c], seed + 1), [c]));
    const gamma = tf.tensor(uniform([c], seed + 2), [c]);
    const beta = tf.tensor(uniform([c], seed + 3), [c]);
    const axes = shape.slice(0, -1).map((_, i) => i);
    const norm = (xs: Tensor, g: Tensor, b: Tensor): Tensor[] => {
      if (fused) return tf.engine().runKernel(BATCH_NORM_TRAINING, { x: xs, gamma: g, beta: b }, { epsilon: EPS }) as Tensor[];
      const { mean, variance } = tf.moments(xs, axes);
      return [tf.batchNorm(xs, mean, variance, b, g, EPS), mean, variance];
    };
    const probe = tf.tensor(uniform(shape, seed + 4), shape);
    const grads = tf.grads((xs: Tensor, g: Tensor, b: Tensor) => tf.sum(tf.mul(norm(xs, g, b)[0]!, probe)))([x, gamma, beta]);
    return [...norm(x, gamma, beta), ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

describe('the kernel and its gradient match moments + batchNorm on cpu', () => {
  test.each([
    [[32, 4, 4, 8]],
    [[6, 5, 5, 3]],
    [[7, 12]], // rank 2 (after a Dense layer)
    [[32, 1, 1, 20]], // 1x1 maps: few rows per channel
    [[2, 3, 3, 1]],
  ])('x %j', async (shape) => {
    const expected = await normAndGrads('cpu', shape, false, 11);
    const actual = await normAndGrads('wasm', shape, true, 11);
    NAMES.forEach((name, i) => {
      expect({ name, problem: firstMismatch(actual[i]!, expected[i]!, KERNEL_TOLERANCE) }).toEqual({ name, problem: undefined });
    });
    expect(Math.max(...Array.from(expected[3]!, Math.abs))).toBeGreaterThan(1e-3); // dx is not trivially zero
  });

  test('rejects gamma whose length is not the channel count', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.engine().runKernel(BATCH_NORM_TRAINING, { x: tf.zeros([2, 3, 3, 4]), gamma: tf.ones([3]), beta: tf.zeros([4]) }, { epsilon: EPS })))
      .toThrow(/expected gamma of shape \[4\]/);
  });
});

describe('the MobileNetV2-block fixture with patched batch norms, on MNIST', () => {
  let images: Tensor;
  let labels: Tensor;
  beforeAll(async () => {
    const ds = await mnistLoader.load({ split: 'train', limit: 8 }, { baseDir: process.cwd() });
    // As bench/finetune-mobilenet.mjs prepares digits for a 3-channel model: resized, grey to RGB, [-1, 1].
    images = tf.tidy(() => tf.tile(tf.image.resizeBilinear(tf.tensor4d(ds.x, [8, 28, 28, 1]), [16, 16]), [1, 1, 1, 3]).mul(2).sub(1));
    labels = tf.oneHot(tf.tensor1d(Array.from(ds.y), 'int32'), 10);
  });
  afterAll(() => tf.dispose([images, labels]));

  async function train(backend: BackendId, patch: boolean) {
    await tf.setBackend(backend);
    const model: LayersModel = await loadModelDir(FIXTURE, { tf });
    const patched = patch ? useFusedBatchNormTraining(tf, model) : [];
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.metrics.categoricalCrossentropy(labels, model.apply(images, { training: true }) as Tensor).mean() as tf.Scalar,
        vars,
      );
      const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    });
    const grads = profile.result as unknown as Float32Array[];
    const moving = model.weights.filter((w) => /moving_(mean|variance)/.test(w.name)).map((w) => w.read().dataSync() as Float32Array);
    const inference = tf.tidy(() => (model.predict(images) as Tensor).dataSync() as Float32Array);
    const kernels = new Set(profile.kernelNames);
    const names = model.trainableWeights.map((v) => v.name.replace(/_\d+$/, ''));
    model.dispose();
    return { patched, grads, moving, inference, kernels, names };
  }

  test('every gradient, the moving statistics and the inference output match the stock path on cpu', async () => {
    const expected = await train('cpu', false);
    const actual = await train('wasm', true);
    expect(actual.patched.length).toBeGreaterThanOrEqual(10);
    expect(actual.kernels.has(BATCH_NORM_TRAINING)).toBe(true);
    expect(actual.kernels.has('FusedBatchNorm')).toBe(false); // every layer went through the kernel
    expect(actual.names).toEqual(expected.names);
    actual.names.forEach((name, i) => {
      const problem = firstMismatch(actual.grads[i]!, expected.grads[i]!, GRAD_TOLERANCE);
      expect({ name, problem, worst: errorStats(actual.grads[i]!, expected.grads[i]!) }).toEqual({ name, problem: undefined, worst: expect.anything() });
    });
    expect(actual.moving).toHaveLength(expected.moving.length);
    actual.moving.forEach((m, i) => expect({ i, problem: firstMismatch(m, expected.moving[i]!, KERNEL_TOLERANCE) }).toEqual({ i, problem: undefined }));
    expect(firstMismatch(actual.inference, expected.inference, GRAD_TOLERANCE)).toBeUndefined();
  });

  test('on a backend without the kernel (cpu) the patched layers run the stock path', async () => {
    const { patched, kernels } = await train('cpu', true);
    expect(patched.length).toBeGreaterThan(0);
    expect(kernels.has(BATCH_NORM_TRAINING)).toBe(false);
    expect(kernels.has('FusedBatchNorm')).toBe(true);
  });
});

test('a batch norm over an axis other than the last keeps the stock path, with the same result', async () => {
  await tf.setBackend('wasm');
  const make = () => {
    const m = tf.sequential({ layers: [tf.layers.batchNormalization({ axis: 1, inputShape: [3, 4, 5], gammaInitializer: 'randomNormal' })] });
    return m;
  };
  const x = tf.tensor(uniform([6, 3, 4, 5], 3), [6, 3, 4, 5]);
  const plain = make();
  const patched = make();
  patched.setWeights(plain.getWeights());
  expect(useFusedBatchNormTraining(tf, patched)).toHaveLength(1);
  const profile = await tf.profile(() => tf.tidy(() => (patched.apply(x, { training: true }) as Tensor).dataSync()));
  expect(profile.kernelNames).not.toContain(BATCH_NORM_TRAINING);
  const a = tf.tidy(() => (plain.apply(x, { training: true }) as Tensor).dataSync());
  expect(Array.from(profile.result as unknown as Float32Array)).toEqual(Array.from(a));
  plain.dispose();
  patched.dispose();
  x.dispose();
});
