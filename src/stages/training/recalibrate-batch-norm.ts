/**
 * BatchNormalization recalibration after fine-tuning: forward passes in
 * training mode over training batches, no weight updates, so each BN layer's
 * moving mean and variance become the statistics of the activations the
 * fine-tuned weights actually produce.
 *
 * Why: fine-tuning normalises with each batch's own statistics, while
 * inference uses the moving averages. A pre-trained Keras model keeps Keras'
 * momentum 0.999, so a short fine-tune (63 steps in examples/pretrained/)
 * moves those averages by 6% (1 - 0.999^63) while pruning half the weights
 * moved the real statistics far more. The result trained fine (loss 1.15,
 * 74% accuracy with batch statistics) and predicted almost one class at
 * inference (6.5%): the pruned MobileNetV2 of the example, before this
 * existed. The usual remedy (as in the literature on pruning BN networks and
 * in make-model.mjs) is to re-estimate the statistics afterwards.
 *
 * The estimate is the plain average over `batches` batches, not an
 * exponential one: during pass k the layer's momentum is set to 1 - 1/k, so
 * after pass k the moving mean is the mean of the k batch means (the first
 * pass replaces the old value). The layers' own momentum is restored after.
 * Batches are consecutive examples from the start of a seeded permutation,
 * so the result is deterministic for a seed.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { mulberry32 } from '../../data/dataset.js';

type Tf = typeof import('@tensorflow/tfjs');

export interface RecalibrationOptions {
  /** Forward passes (0: none). */
  batches: number;
  batchSize: number;
  seed: number;
  signal?: AbortSignal;
}

export interface RecalibrationResult {
  /** BatchNormalization layers whose statistics were re-estimated. */
  layers: number;
  batches: number;
  examples: number;
}

/** The part of tfjs' BatchNormalization this module touches (`momentum` is a public field there, not in the typings). */
interface BatchNormLike {
  momentum: number;
}

/** The model's BatchNormalization layers that keep moving statistics. */
export function batchNormLayers(model: LayersModel): BatchNormLike[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization') as unknown as BatchNormLike[];
}

/** Re-estimates every BatchNormalization layer's moving statistics on `data` (see the module comment). */
export async function recalibrateBatchNorm(tf: Tf, model: LayersModel, data: Dataset, o: RecalibrationOptions): Promise<RecalibrationResult> {
  const layers = batchNormLayers(model);
  const batchSize = Math.min(o.batchSize, data.count);
  const batches = Math.min(o.batches, Math.floor(data.count / batchSize));
  if (layers.length === 0 || batches === 0) return { layers: 0, batches: 0, examples: 0 };
  const order = permutation(data.count, o.seed);
  const per = data.shape.reduce((a, b) => a * b, 1);
  const saved = layers.map((l) => l.momentum);
  try {
    for (let k = 1; k <= batches; k++) {
      o.signal?.throwIfAborted();
      const x = new Float32Array(batchSize * per);
      for (let i = 0; i < batchSize; i++) {
        const e = order[(k - 1) * batchSize + i]!;
        x.set(data.x.subarray(e * per, (e + 1) * per), i * per);
      }
      for (const l of layers) l.momentum = 1 - 1 / k;
      tf.tidy(() => {
        model.apply(tf.tensor(x, [batchSize, ...data.shape]), { training: true });
      });
      // Let the event loop breathe (abort signals, progress) between passes.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
  return { layers: layers.length, batches, examples: batches * batchSize };
}

/** Fisher-Yates over 0..n-1 with the project's seeded generator. */
function permutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
