/**
 * Every gradient a MobileNetV2 hits, on wasm (with our kernels) vs cpu:
 * first op by op (table-driven, the ops the Keras layers call: ReLU with
 * max_value is relu then clipByValue, ZeroPadding2D is pad,
 * GlobalAveragePooling2D is mean, BatchNormalization in training mode is
 * moments + batchNorm and in inference mode batchNorm on the moving
 * statistics, Add, Conv2D 1x1, DepthwiseConv2D strides 1 and 2, Dense,
 * Dropout with a fixed seed, Reshape), then a whole model: the gradient of
 * the loss w.r.t. every trainable weight of the MobileNetV2-block fixture
 * (test/fixtures/models/mobilenet-tiny, real trained weights) with batch
 * norm in training and in inference mode.
 *
 * Tolerance: KERNEL_TOLERANCE op by op; the whole model as training.test.ts
 * (rtol 1e-3, atol 1e-5: errors compound through layers, a wrong kernel is
 * off by O(1)).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { loadModelDir } from '../../../src/engine/model-io.js';
import { errorStats, firstMismatch, KERNEL_TOLERANCE, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId, Tolerance } from './helpers.js';

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-5 };
const FIXTURE = join(process.cwd(), 'test/fixtures/models/mobilenet-tiny');

beforeAll(async () => {
  await setupBackends();
});

interface OpCase {
  name: string;
  /** Input shapes; values are seeded uniform in [-scale, scale). */
  shapes: number[][];
  scale?: number;
  f: (...xs: Tensor[]) => Tensor;
}

const x4 = (t: Tensor) => t as tf.Tensor4D;
const OPS: OpCase[] = [
  // Values in [-8, 8): both sides of 0 and of 6, like activations before a ReLU6.
  { name: 'ReLU(max_value=6): relu then clipByValue', shapes: [[2, 5, 5, 4]], scale: 8, f: (x) => tf.clipByValue(tf.relu(x), 0, 6) },
  { name: 'relu6', shapes: [[2, 5, 5, 4]], scale: 8, f: (x) => tf.relu6(x) },
  { name: 'ZeroPadding2D ((0,1),(0,1))', shapes: [[2, 6, 6, 3]], f: (x) => tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]) },
  { name: 'ZeroPadding2D ((1,1),(1,1))', shapes: [[2, 5, 5, 3]], f: (x) => tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) },
  { name: 'GlobalAveragePooling2D: mean over H, W', shapes: [[3, 4, 4, 6]], f: (x) => tf.mean(x, [1, 2]) },
  {
    name: 'BatchNormalization, training (batch statistics)',
    shapes: [[4, 3, 3, 5], [5], [5]],
    f: (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    },
  },
  {
    name: 'BatchNormalization, inference (moving statistics)',
    shapes: [[4, 3, 3, 5], [5], [5], [5]],
    f: (x, gamma, beta, mean) => tf.batchNorm(x, mean!.mul(0.1), tf.fill([5], 0.7), beta, gamma, 1e-3),
  },
  { name: 'Add (residual)', shapes: [[2, 4, 4, 6], [2, 4, 4, 6]], f: (a, b) => tf.add(a, b) },
  { name: 'Conv2D 1x1 (expand / project)', shapes: [[2, 4, 4, 6], [1, 1, 6, 9]], f: (x, w) => tf.conv2d(x4(x), x4(w!), 1, 'same') },
  { name: 'Conv2D 3x3 stride 2 valid (stem after padding)', shapes: [[2, 9, 9, 3], [3, 3, 3, 8]], f: (x, w) => tf.conv2d(x4(x), x4(w!), 2, 'valid') },
  { name: 'DepthwiseConv2D stride 1 same', shapes: [[2, 6, 6, 8], [3, 3, 8, 1]], f: (x, w) => tf.depthwiseConv2d(x4(x), x4(w!), 1, 'same') },
  { name: 'DepthwiseConv2D stride 2 valid', shapes: [[2, 7, 7, 8], [3, 3, 8, 1]], f: (x, w) => tf.depthwiseConv2d(x4(x), x4(w!), 2, 'valid') },
  { name: 'Dense', shapes: [[4, 12], [12, 5], [5]], f: (x, w, b) => tf.add(tf.matMul(x, w!), b!) },
  { name: 'Dropout 0.2 (seeded)', shapes: [[4, 12]], f: (x) => tf.dropout(x, 0.2, undefined, 7) },
  { name: 'Reshape', shapes: [[2, 1, 1, 6]], f: (x) => tf.reshape(x, [2, 6]) },
];

/** Gradients of sum(f(...) * probe) w.r.t. every input (the probe weights the outputs unevenly). */
async function opGrads(backend: BackendId, c: OpCase, i: number): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = c.shapes.map((s, j) => tf.tensor(uniform(s, 500 + 10 * i + j).map((v) => v * (c.scale ?? 1)), s));
    const grads = tf.grads((...args: Tensor[]) => {
      const y = c.f(...args);
      return tf.sum(tf.mul(y, tf.tensor(uniform(y.shape, 900 + i), y.shape)));
    })(xs);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

describe('the gradient of every op a MobileNetV2 uses matches cpu', () => {
  test.each(OPS.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const expected = await opGrads('cpu', c, i);
    const actual = await opGrads('wasm', c, i);
    expect(actual).toHaveLength(c.shapes.length);
    actual.forEach((a, j) => {
      expect({ input: j, problem: firstMismatch(a, expected[j]!, KERNEL_TOLERANCE) }).toEqual({ input: j, problem: undefined });
    });
  });
});

describe('whole-model gradients of the MobileNetV2-block fixture match cpu', () => {
  /** Gradients of the cross-entropy w.r.t. every trainable weight, on `backend`. */
  async function modelGrads(backend: BackendId, training: boolean): Promise<{ names: string[]; grads: Float32Array[] }> {
    await tf.setBackend(backend);
    const model = await loadModelDir(FIXTURE, { tf });
    const [, h, w, c] = model.inputs[0]!.shape as number[];
    const batch = 6;
    const x = tf.tensor(uniform([batch, h!, w!, c!], 31), [batch, h!, w!, c!]);
    const y = tf.oneHot(tf.tensor1d([0, 3, 5, 7, 9, 1], 'int32'), 10);
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training }) as Tensor).mean() as tf.Scalar,
      vars,
    );
    // Each load makes new variables, which tfjs names uniquely with a `_N` suffix.
    const out = { names: model.trainableWeights.map((v) => v.name.replace(/_\d+$/, '')), grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array) };
    tf.dispose([value, x, y, ...Object.values(grads)]);
    model.dispose();
    return out;
  }

  test('the fixture is a MobileNetV2 slice: depthwise, batch norm, ReLU6, zero padding, two residual Adds', async () => {
    const json = JSON.parse(await readFile(join(FIXTURE, 'model.json'), 'utf8')) as {
      modelTopology: { model_config: { class_name: string; config: { layers: { class_name: string; name: string }[] } } };
    };
    const layers = json.modelTopology.model_config.config.layers;
    const count = (cls: string) => layers.filter((l) => l.class_name === cls).length;
    expect(json.modelTopology.model_config.class_name).toBe('Functional');
    expect({ dw: count('DepthwiseConv2D'), add: count('Add'), pad: count('ZeroPadding2D'), gap: count('GlobalAveragePooling2D') }).toEqual({
      dw: 5, add: 2, pad: 3, gap: 1,
    });
    expect(layers.filter((l) => l.class_name === 'Add').map((l) => l.name)).toEqual(['block_2_add', 'block_4_add']);
  });

  test.each([
    ['batch norm in training mode', true],
    ['batch norm in inference mode', false],
  ] as const)('%s', async (_label, training) => {
    const expected = await modelGrads('cpu', training);
    const actual = await modelGrads('wasm', training);
    expect(actual.names).toEqual(expected.names);
    expect(actual.names.filter((n) => n.includes('depthwise/'))).toHaveLength(5);
    actual.names.forEach((name, i) => {
      const problem = firstMismatch(actual.grads[i]!, expected.grads[i]!, GRAD_TOLERANCE);
      const worst = errorStats(actual.grads[i]!, expected.grads[i]!);
      expect({ name, problem, worst }).toEqual({ name, problem: undefined, worst });
    });
  });
});
