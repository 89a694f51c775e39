/**
 * Top-1 (and optional top-k) accuracy of a model on a dataset, in batches.
 * Top-1 uses argMax exactly as train-loop's `evaluateAccuracy`, so the
 * numbers agree with what train/prune/quantize report.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import { toTensors } from '../training/train-loop.js';

export interface AccuracyResult {
  /** Percent. */
  top1: number;
  /** Percent, when k was given. */
  topK?: number;
  k?: number;
  examples: number;
}

/** `signal`: stop between two batches once the run is interrupted. */
export async function topKAccuracy(tf: Tf, model: tfTypes.LayersModel, ds: Dataset, k: number | undefined, batchSize = 512, signal?: AbortSignal): Promise<AccuracyResult> {
  let top1 = 0;
  let topK = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    await checkpoint(signal);
    const idx = Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { xs, ys } = toTensors(tf, ds, idx);
    const [h1, hk] = tf.tidy(() => {
      const p = model.predict(xs) as tfTypes.Tensor;
      const labels = tf.argMax(ys, -1);
      const hit1 = tf.equal(tf.argMax(p, -1), labels).sum();
      if (k === undefined) return [hit1, undefined];
      const kk = Math.min(k, p.shape[p.shape.length - 1]!);
      const { indices } = tf.topk(p, kk);
      const hitK = tf.equal(indices, labels.cast('int32').expandDims(-1)).any(-1).cast('int32').sum();
      return [hit1, hitK];
    });
    top1 += (await h1.data())[0]!;
    if (hk) topK += (await hk.data())[0]!;
    tf.dispose([xs, ys, h1, ...(hk ? [hk] : [])]);
  }
  const out: AccuracyResult = { top1: (100 * top1) / ds.count, examples: ds.count };
  if (k !== undefined) {
    out.topK = (100 * topK) / ds.count;
    out.k = k;
  }
  return out;
}
