/**
 * Identity on wasm (ours): the clone shares the input's heap block instead
 * of copying it, the block lives until the last tensor on it is disposed,
 * strings still work (the stock kernel), and a training step's gradients are
 * bit-identical to the stock copying kernel's (the tape clones through it).
 */
import { setupBackends, tf, uniform } from './helpers.js';
import { identityKernel } from '../../../src/engine/kernels/identity.js';

beforeAll(async () => {
  await setupBackends();
  await tf.setBackend('wasm');
});

test('a clone shares the data block, which lives until both tensors are disposed', () => {
  const be = tf.backend();
  const x = tf.tensor2d(uniform([3, 4], 7), [3, 4]);
  const blocks = be.numDataIds();
  const y = tf.clone(x);
  expect(be.numDataIds()).toBe(blocks);
  expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
  x.dispose();
  expect(be.numDataIds()).toBe(blocks);
  expect(y.dataSync()[0]).toBe(uniform([3, 4], 7)[0]);
  y.dispose();
  expect(be.numDataIds()).toBe(blocks - 1);
});

test('int32 and bool clones keep their dtype and values; strings go to the stock kernel', () => {
  const i = tf.tensor1d([1, -2, 3], 'int32');
  const b = tf.tensor1d([1, 0, 1], 'bool');
  const s = tf.tensor1d(['a', 'bc']);
  const [ci, cb, cs] = [tf.clone(i), tf.clone(b), tf.clone(s)];
  expect([ci.dtype, Array.from(ci.dataSync())]).toEqual(['int32', [1, -2, 3]]);
  expect([cb.dtype, Array.from(cb.dataSync())]).toEqual(['bool', [1, 0, 1]]);
  expect(cs.dataSync()).toEqual(['a', 'bc']);
  tf.dispose([i, b, s, ci, cb, cs]);
});

test('without the stock kernel a string clone says what is missing', () => {
  const k = identityKernel(tf, undefined);
  const s = tf.tensor1d(['a']);
  expect(() => k.kernelFunc({ inputs: { x: s }, attrs: {}, backend: tf.backend() })).toThrow(/strings need the stock kernel/);
  s.dispose();
});

test('a conv + dense training step gives the same gradients bit for bit as the copying stock kernel', async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const x = tf.tensor4d(uniform([5, 8, 8, 1], 3), [5, 8, 8, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 1], 'int32'), 4);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const grads = (): number[][] => {
    const g = tf.variableGrads(() => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, vars);
    const out = vars.map((v) => Array.from(g.grads[v.name]!.dataSync()));
    tf.dispose([g.value, ...Object.values(g.grads)]);
    return out;
  };
  const ours = tf.getKernel('Identity', 'wasm')!;
  const sharing = grads();
  // The stock kernel's behaviour: a fresh block holding a copy.
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const t = inputs['x']!;
      const be = backend as unknown as { makeOutput(s: number[], d: string): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
      const out = be.makeOutput(t.shape, t.dtype);
      be.typedArrayFromHeap(out).set(be.typedArrayFromHeap(t));
      return out;
    },
  });
  try {
    expect(grads()).toEqual(sharing);
  } finally {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel(ours);
  }
  tf.dispose([x, y]);
  model.dispose();
});
