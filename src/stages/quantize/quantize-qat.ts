/**
 * Quantization-aware fine-tuning for the quantize stage (its `finetune:`
 * option): the shared fine-tuning loop, with every weight that will be
 * stored as uint8/uint16 fake-quantized in the forward pass through a
 * straight-through estimator. The loss is that of the weights as they will
 * be stored; the gradient updates the latent float weights, which the stage
 * then quantizes for real.
 *
 * float16 weights are not fake-quantized: their rounding error (2^-11
 * relative) is far below what training noise moves a weight.
 *
 * Exact zeros in kernels (weights of rank >= 2), e.g. from an upstream
 * prune stage, are put back after every optimizer step, so fine-tuning keeps
 * the sparsity (and the quantizer then stores them as exact zeros).
 */
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import type { QuantizationDtype } from '../../formats/weight-quantization.js';
import type { StageContext } from '../../plugin.js';
import { finetune } from '../training/finetune.js';
import type { FinetuneConfig, FinetuneResult } from '../training/finetune.js';
import { fakeQuantAffine, overrideRead, straightThrough } from './quantize-fake-quant.js';

const QMAX = { uint8: 255, uint16: 65535 } as const;

/**
 * Fine-tunes `model` in place. `targets` maps weight names (as in the
 * manifest: `dense1/kernel`) to the dtype they will be stored in.
 */
export async function quantizationAwareFinetune(
  ctx: StageContext,
  tf: Tf,
  model: LayersModel,
  targets: ReadonlyMap<string, QuantizationDtype>,
  config: FinetuneConfig,
): Promise<FinetuneResult & { fakeQuantized: string[]; zeroMasked: string[] }> {
  const undo: (() => void)[] = [];
  const masks: { variable: Variable; keep: Tensor }[] = [];
  const fakeQuantized: string[] = [];
  const zeroMasked: string[] = [];
  try {
    for (const w of model.trainableWeights) {
      const variable = w.read() as Variable;
      if (w.shape.length >= 2) {
        const zeros = tf.tidy(() => tf.sum(tf.equal(variable, 0)).dataSync()[0]!);
        if (zeros > 0) {
          masks.push({ variable, keep: tf.notEqual(variable, 0) });
          zeroMasked.push(w.originalName);
        }
      }
      const dtype = targets.get(w.originalName);
      if (dtype === 'uint8' || dtype === 'uint16') {
        const qmax = QMAX[dtype];
        undo.push(overrideRead(w, straightThrough(tf, (x) => fakeQuantAffine(tf, x, qmax))));
        fakeQuantized.push(w.originalName);
      }
    }
    const result = await finetune(ctx, model, config, {
      afterStep: () => {
        for (const { variable, keep } of masks) tf.tidy(() => variable.assign(tf.where(keep, variable, tf.zerosLike(variable))));
      },
    });
    return { ...result, fakeQuantized, zeroMasked };
  } finally {
    undo.forEach((u) => u());
    tf.dispose(masks.map((m) => m.keep));
  }
}
