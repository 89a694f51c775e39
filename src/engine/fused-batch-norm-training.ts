/**
 * Runs training-mode BatchNormalization layers as one kernel each way
 * (src/engine/kernels/batch-norm-training.ts) instead of tfjs's composition of
 * ~60 small kernels per layer and step, on backends that have that kernel
 * (wasm, once registerWasmTrainingKernels has run).
 *
 * The patched call does what tfjs-layers' BatchNormalization.call does in
 * training mode (normalise with the batch's mean and biased variance, then
 * move the moving statistics with the layer's momentum, by the same formula),
 * with the statistics coming out of the kernel. Inference mode, other
 * backends, and layers this does not cover (a normalised axis other than the
 * last, no scale or no center) run the layer's own call untouched.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { BATCH_NORM_TRAINING } from './kernels/batch-norm-training.js';
import type { Tf } from './tf.js';

/** The private fields of a tfjs-layers BatchNormalization the patched call reads. */
interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: { read(): Tensor } | null | undefined;
  beta: { read(): Tensor } | null | undefined;
  movingMean: { read(): Tensor; write(t: Tensor): void };
  movingVariance: { read(): Tensor; write(t: Tensor): void };
  call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[];
}

/** Layers already patched (patching twice would wrap the wrapper). */
const patched = new WeakSet<object>();

/**
 * Patches every BatchNormalization layer of `model` (scale and center on;
 * the axis is checked per call, against the input's rank) and returns the
 * names of the layers patched now. Harmless on backends without the kernel:
 * each call checks the active backend.
 */
export function useFusedBatchNormTraining(tf: Tf, model: LayersModel): string[] {
  const names: string[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || patched.has(layer)) continue;
    const bn = layer as unknown as BatchNormInternals;
    const own = bn.call.bind(layer);
    bn.call = (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
      const gamma = bn.gamma;
      const beta = bn.beta;
      if (
        kwargs?.training !== true || x === undefined || x.dtype !== 'float32' || x.rank < 2 ||
        (bn.axis !== -1 && bn.axis !== x.rank - 1) || !gamma || !beta ||
        tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) === undefined
      ) {
        return own(inputs, kwargs);
      }
      return tf.tidy(() => {
        const [y, mean, variance] = tf.engine().runKernel(
          BATCH_NORM_TRAINING, { x, gamma: gamma.read(), beta: beta.read() }, { epsilon: bn.epsilon },
        ) as Tensor[];
        // tfjs-layers' doMovingAverage: moving -= (moving - batch) * (1 - momentum).
        for (const [moving, batch] of [[bn.movingMean, mean!], [bn.movingVariance, variance!]] as const) {
          const old = moving.read();
          moving.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - bn.momentum)));
        }
        return y!;
      });
    };
    patched.add(layer);
    names.push(layer.name);
  }
  return names;
}
