/**
 * The `share` stage's constraints during fine-tuning, as `finetune` hooks.
 *
 * Deep Compression (Han et al. 2016, section 3.3, eq. 3) trains the
 * centroids: dL/dC_k is the sum of dL/dW over the weights in cluster k. We
 * keep the weights themselves as the trainable variables (the model stays a
 * stock LayersModel) and give every member of a cluster that summed gradient
 * (`transformGrads`), so an elementwise optimizer (SGD, momentum, Adam) moves
 * all members alike; after every step (`afterStep`) each cluster is re-snapped
 * to the mean of its members, so a kernel holds at most its codebook's values
 * whatever the optimizer did. Tied copies get the sum of their gradients (the
 * gradient of one shared parameter) and are re-snapped together. Zeros get a
 * zero gradient and are rewritten as +0.
 */
import type { LayerVariable, NamedTensorMap } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import type { FinetuneHooks } from '../training/finetune.js';
import { clusterGradients, snapToClusterMeans } from './share-kmeans.js';

/** Variables fine-tuning must keep in shape. */
export interface Constraint {
  /** One variable, or tied copies (same shape, identical values). */
  vars: LayerVariable[];
  /** Clustered: per element its cluster, -1 for a zero; `clusters` entries. */
  clustered?: { index: Int32Array; clusters: number };
  /** Not clustered: positions that must stay +0 (1 = zero). */
  zeros?: Uint8Array;
}

/** A Constraint's `zeros`: 1 where `values` is 0 (what fine-tuning must keep pruned). */
export function zerosOf(values: Float32Array): Uint8Array {
  const z = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) if (values[i] === 0) z[i] = 1;
  return z;
}

export function constraintHooks(tf: Tf, constraints: readonly Constraint[]): Required<Pick<FinetuneHooks, 'transformGrads' | 'afterStep'>> {
  return {
    transformGrads(grads: NamedTensorMap): NamedTensorMap {
      const out: NamedTensorMap = { ...grads };
      for (const c of constraints) {
        const gs = c.vars.map((v) => grads[v.name]);
        if (gs.some((g) => g === undefined)) continue; // frozen (not trainable): nothing moves it
        const data = gs.map((g) => g!.dataSync() as Float32Array);
        const size = data[0]!.length;
        const buf = new Float32Array(size);
        if (c.clustered) clusterGradients(data, c.clustered.index, c.clustered.clusters, buf);
        else {
          for (const d of data) for (let i = 0; i < size; i++) buf[i] = buf[i]! + d[i]!;
          if (c.zeros) for (let i = 0; i < size; i++) if (c.zeros[i]) buf[i] = 0;
        }
        for (const v of c.vars) out[v.name] = tf.tensor(buf, v.read().shape, 'float32');
      }
      return out;
    },
    afterStep(): void {
      for (const c of constraints) {
        const data = c.vars.map((v) => v.read().dataSync() as Float32Array);
        const size = data[0]!.length;
        const buf = new Float32Array(size);
        if (c.clustered) snapToClusterMeans(data, c.clustered.index, c.clustered.clusters, buf);
        else {
          for (let i = 0; i < size; i++) {
            let s = 0;
            for (const d of data) s += d[i]!;
            const mean = Math.fround(s / data.length);
            buf[i] = mean === 0 || c.zeros?.[i] ? 0 : mean;
          }
        }
        for (const v of c.vars) {
          tf.tidy(() => {
            v.write(tf.tensor(buf, v.read().shape, 'float32'));
          });
        }
      }
    },
  };
}
