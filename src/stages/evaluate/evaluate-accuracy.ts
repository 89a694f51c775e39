/**
 * One pass of a model over the evaluation data: top-1 (and optional top-k)
 * accuracy when the data has labels, and every batch's output probabilities
 * handed to `onOutputs` (for agreement with the reference, which needs no
 * labels). Top-1 uses argMax exactly as train-loop's `evaluateAccuracy`, so
 * the numbers agree with what train/prune/quantize report.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { exampleSize } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import { toTensors } from '../training/train-loop.js';
import type { ExampleProgress } from '../training/example-progress.js';

export interface AccuracyResult {
  /** Percent. */
  top1: number;
  /** Percent, when k was given. */
  topK?: number;
  k?: number;
  examples: number;
}

export interface OutputsPassOptions {
  /** Also top-k accuracy for this k (labelled data only). */
  k?: number;
  batchSize?: number;
  /** Each batch's outputs (`rows` x `classes` values, row after row), in example order. */
  onOutputs?: (start: number, rows: number, classes: number, outputs: Float32Array) => void | Promise<void>;
  progress?: ExampleProgress;
  signal?: AbortSignal;
}

/** Accuracy is undefined when `ds` has no labels (`labelled: false`): absent, not 0. */
export async function outputsPass(tf: Tf, model: tfTypes.LayersModel, ds: Dataset, o: OutputsPassOptions = {}): Promise<{ accuracy?: AccuracyResult }> {
  const labelled = ds.labelled !== false;
  const batchSize = o.batchSize ?? 512;
  const k = o.k;
  const size = exampleSize(ds);
  let top1 = 0;
  let topK = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    await checkpoint(o.signal);
    const rows = Math.min(batchSize, ds.count - start);
    let xs: tfTypes.Tensor;
    let ys: tfTypes.Tensor | undefined;
    if (labelled) {
      const idx = Array.from({ length: rows }, (_, i) => start + i);
      ({ xs, ys } = toTensors(tf, ds, idx));
    } else {
      xs = tf.tensor(ds.x.subarray(start * size, (start + rows) * size), [rows, ...ds.shape]);
    }
    const p = tf.tidy(() => model.predict(xs) as tfTypes.Tensor);
    const [h1, hk] = ys
      ? tf.tidy(() => {
          const labels = tf.argMax(ys!, -1);
          const hit1 = tf.equal(tf.argMax(p, -1), labels).sum();
          if (k === undefined) return [hit1, undefined];
          const kk = Math.min(k, p.shape[p.shape.length - 1]!);
          const { indices } = tf.topk(p, kk);
          const hitK = tf.equal(indices, labels.cast('int32').expandDims(-1)).any(-1).cast('int32').sum();
          return [hit1, hitK];
        })
      : [undefined, undefined];
    try {
      if (h1) top1 += (await h1.data())[0]!;
      if (hk) topK += (await hk.data())[0]!;
      if (o.onOutputs) {
        const classes = p.shape[p.shape.length - 1]!;
        await o.onOutputs(start, rows, classes, (await p.data()) as Float32Array);
      }
    } finally {
      tf.dispose([xs, p, ...(ys ? [ys] : []), ...(h1 ? [h1] : []), ...(hk ? [hk] : [])]);
    }
    o.progress?.add(rows);
  }
  if (!labelled) return {};
  const out: AccuracyResult = { top1: (100 * top1) / ds.count, examples: ds.count };
  if (k !== undefined) {
    out.topK = (100 * topK) / ds.count;
    out.k = k;
  }
  return { accuracy: out };
}
