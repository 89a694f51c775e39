/**
 * useLazyConvGradients (src/engine/lazy-conv-gradients.ts) on LeNet-5 and
 * real MNIST digits, on wasm with our kernels: the patched model's loss and
 * gradients are bit-identical to the unpatched one's, its forward pass outside
 * a tape runs the layer's own call, an input gradient asked for is still
 * computed (and equal), and the gradient w.r.t. the images that nobody asked
 * for is no longer computed (one Conv2DBackpropInput per step instead of two).
 */
import type { LayersModel, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { mnistLoader } from '../../src/data/mnist.js';
import { buildModel } from '../../src/engine/builders.js';
import { useLazyConvGradients } from '../../src/engine/lazy-conv-gradients.js';
import { toTensors } from '../../src/stages/training/train-loop.js';
import { setupBackends, tf } from './kernels/helpers.js';

let xs: Tensor;
let ys: Tensor;

beforeAll(async () => {
  await setupBackends();
  const ds = await mnistLoader.load({ split: 'train', limit: 8 }, { baseDir: process.cwd() });
  ({ xs, ys } = toTensors(tf, ds, [0, 1, 2, 3, 4, 5, 6, 7]));
});

afterAll(() => tf.dispose([xs, ys]));

const loss = (model: LayersModel, x: Tensor): Scalar =>
  tf.metrics.categoricalCrossentropy(ys, model.apply(x, { training: true }) as Tensor).mean() as Scalar;

/** Loss, per-variable gradients and the kernel names run, for one step of `model`. */
async function step(model: LayersModel): Promise<{ loss: number; grads: number[][]; kernels: string[] }> {
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  let out: { loss: number; grads: number[][] } | undefined;
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => loss(model, xs), vars);
    out = { loss: value.dataSync()[0]!, grads: vars.map((v) => Array.from(grads[v.name]!.dataSync())) };
    tf.dispose([value, ...Object.values(grads)]);
  });
  return { ...out!, kernels: profile.kernels.map((k) => k.name) };
}

const count = (names: string[], name: string): number => names.filter((n) => n === name).length;

describe('useLazyConvGradients on LeNet-5 (wasm, MNIST)', () => {
  test('patches the two linear convs; same loss and gradients, bit for bit, without conv1\'s input gradient', async () => {
    const plain = buildModel(tf, { arch: 'lenet5' }, 7);
    const lazy = buildModel(tf, { arch: 'lenet5' }, 7);
    expect(useLazyConvGradients(tf, lazy)).toEqual(['conv1', 'conv2']);
    expect(useLazyConvGradients(tf, lazy)).toEqual([]); // idempotent

    const a = await step(plain);
    const b = await step(lazy);
    expect(b.loss).toBe(a.loss);
    expect(b.grads).toEqual(a.grads);
    expect(count(a.kernels, 'Conv2DBackpropInput')).toBe(2);
    expect(count(b.kernels, 'Conv2DBackpropInput')).toBe(1);
    expect(count(b.kernels, 'Conv2DBackpropFilter')).toBe(2);

    // Outside a tape the layer's own (fused) call runs: identical predictions.
    const pa = plain.predict(xs) as Tensor;
    const pb = lazy.predict(xs) as Tensor;
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    tf.dispose([pa, pb]);
    plain.dispose();
    lazy.dispose();
  });

  test('an input gradient that is asked for is still computed, and equal', async () => {
    const plain = buildModel(tf, { arch: 'lenet5' }, 3);
    const lazy = buildModel(tf, { arch: 'lenet5' }, 3);
    useLazyConvGradients(tf, lazy);
    const ga = tf.grad((x: Tensor) => loss(plain, x))(xs);
    const gb = tf.grad((x: Tensor) => loss(lazy, x))(xs);
    expect(gb.shape).toEqual([8, 28, 28, 1]);
    expect(Array.from(gb.dataSync())).toEqual(Array.from(ga.dataSync()));
    expect(Math.max(...Array.from(ga.dataSync(), Math.abs))).toBeGreaterThan(0);
    tf.dispose([ga, gb]);
    plain.dispose();
    lazy.dispose();
  });

  test('leaves convs with an activation alone (they already train unfused)', () => {
    const cnn = buildModel(tf, { arch: 'cnn', activation: 'relu' }, 1);
    expect(useLazyConvGradients(tf, cnn)).toEqual([]);
    cnn.dispose();
  });
});
