/**
 * Pieces of a training loop shared by the stages that train or fine-tune:
 * batches to tensors, accuracy/loss evaluation, and seeded randomness.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { mulberry32 } from '../data/dataset.js';
import type { Tf } from '../engine/tf.js';

/**
 * One batch as tensors: inputs shaped like the model expects, one-hot labels.
 * `transform` may rewrite the batch's copied inputs in place first
 * (augmentation); the dataset itself is never touched.
 */
export function toTensors(
  tf: Tf,
  ds: Dataset,
  idx: ArrayLike<number>,
  transform?: (x: Float32Array, count: number) => void,
): { xs: tfTypes.Tensor; ys: tfTypes.Tensor } {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(idx.length * size);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    x.set(ds.x.subarray(j * size, (j + 1) * size), i * size);
    y[i] = ds.y[j]!;
  }
  transform?.(x, idx.length);
  return tf.tidy(() => ({ xs: tf.tensor(x, [idx.length, ...ds.shape]), ys: tf.oneHot(tf.tensor1d(y, 'int32'), ds.classes) }));
}

/** Top-1 accuracy (percent) and mean cross-entropy of `model` on `ds`, in batches. */
export async function evaluateAccuracy(tf: Tf, model: tfTypes.LayersModel, ds: Dataset, batchSize: number): Promise<{ accuracy: number; loss: number }> {
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { xs, ys } = toTensors(tf, ds, idx);
    const [hits, loss] = tf.tidy(() => {
      const p = model.predict(xs) as tfTypes.Tensor;
      const hit = tf.equal(tf.argMax(p, -1), tf.argMax(ys, -1)).sum();
      // The models end in softmax; clip so log(0) cannot appear.
      const ce = tf.neg(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(p, 1e-7, 1)))));
      return [hit, ce];
    });
    correct += (await hits.data())[0]!;
    lossSum += (await loss.data())[0]!;
    tf.dispose([xs, ys, hits, loss]);
  }
  return { accuracy: (100 * correct) / ds.count, loss: lossSum / ds.count };
}

/**
 * Runs `fn` with Math.random replaced by a PRNG seeded with `seed`. tfjs's
 * random ops without an explicit seed (dropout) draw from Math.random; this
 * makes them reproducible. Safe because each stage runs in its own worker.
 */
export async function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = mulberry32(seed ^ 0x9e3779b9);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
