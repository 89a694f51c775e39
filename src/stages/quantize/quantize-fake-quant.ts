/**
 * Fake quantization with tfjs ops: values rounded to what a quantized store
 * or an int8 runtime would hold, still as float32 tensors. Used by the
 * quantize stage's quantization-aware fine-tuning (weights as they will be
 * stored) and by its int8 simulation (weights and activations as an int8
 * runtime would see them).
 *
 * Weights are swapped in by overriding `read()` on a layer's LayerVariable:
 * every tfjs layer reads its weights through `read()` in `call()` (Dense,
 * Conv, BatchNormalization, ...), so this changes what the forward pass
 * sees without touching the stored variable, and is undone by deleting the
 * override.
 */
import type { LayerVariable, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import { roundHalfEven } from '../../formats/weight-quantization.js';

/**
 * The storage quantizer of src/formats/weight-quantization.ts in tfjs ops:
 * per-tensor affine with `qmax` levels and the range nudged so that 0.0 is a
 * code. float32 arithmetic, so a value can land one code away from where the
 * float64 encoder puts it; fine for training. A constant tensor passes through.
 */
export function fakeQuantAffine(tf: Tf, w: Tensor, qmax: number): Tensor {
  return tf.tidy(() => {
    const lo = tf.min(w);
    const hi = tf.max(w);
    const range = tf.sub(hi, lo);
    const scale = tf.div(range, qmax);
    const covers = tf.logicalAnd(tf.lessEqual(lo, 0), tf.greaterEqual(hi, 0));
    const zeroPoint = tf.round(tf.div(tf.neg(lo), scale));
    const min = tf.where(covers, tf.neg(tf.mul(zeroPoint, scale)), lo);
    const max = tf.add(min, tf.mul(scale, qmax));
    const q = tf.round(tf.div(tf.sub(tf.minimum(tf.maximum(w, min), max), min), scale));
    return tf.where(tf.greater(range, 0), tf.add(tf.mul(q, scale), min), w);
  });
}

/** Symmetric per-tensor int8 weights (zero point 0, codes -127..127), as int8 runtimes store kernels. */
export function fakeQuantInt8Symmetric(tf: Tf, w: Tensor): Tensor {
  return tf.tidy(() => {
    const scale = tf.div(tf.max(tf.abs(w)), 127);
    const q = tf.clipByValue(tf.round(tf.div(w, scale)), -127, 127);
    return tf.where(tf.greater(scale, 0), tf.mul(q, scale), w);
  });
}

/** Parameters of an asymmetric int8 activation quantizer (codes -128..127 as 0..255 plus zero point). */
export interface ActivationQuant {
  scale: number;
  /** The code of 0.0, in 0..255. */
  zeroPoint: number;
}

/**
 * int8 parameters for a calibrated range: the range is widened to include 0
 * (int8 runtimes require it: zero padding and ReLU must be exact) and the
 * zero point is an integer, so 0.0 is exactly representable. Undefined for an
 * all-zero range (the tensor passes through).
 */
export function activationQuant(min: number, max: number): ActivationQuant | undefined {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return undefined;
  const scale = (hi - lo) / 255;
  return { scale, zeroPoint: Math.min(255, Math.max(0, roundHalfEven(-lo / scale))) };
}

export function fakeQuantActivation(tf: Tf, x: Tensor, q: ActivationQuant): Tensor {
  return tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(tf.add(tf.round(tf.div(x, q.scale)), q.zeroPoint), 0, 255), q.zeroPoint), q.scale));
}

type Readable = LayerVariable & { read(): Tensor; val: Tensor };

/**
 * Makes `variable.read()` return `replace(variable)` until the returned undo
 * function runs. `replace` runs on every read (inside the caller's tape, so
 * gradients can flow through it).
 */
export function overrideRead(variable: LayerVariable, replace: (value: Tensor) => Tensor): () => void {
  const v = variable as Readable;
  const original = Object.getPrototypeOf(v).read as () => Tensor;
  Object.defineProperty(v, 'read', {
    configurable: true,
    writable: true,
    value: () => replace(original.call(v)),
  });
  return () => {
    delete (v as unknown as Record<string, unknown>)['read'];
  };
}

/**
 * `fq(w)` in the forward pass, identity in the backward pass: the
 * straight-through estimator (w + stopGradient(fq(w) - w)). The latent float
 * weights keep receiving gradients, and the loss is that of the quantized
 * weights.
 */
export function straightThrough(tf: Tf, fq: (w: Tensor) => Tensor): (w: Tensor) => Tensor {
  const op = tf.customGrad((...args) => {
    const w = args[0] as Tensor;
    return { value: fq(w), gradFunc: (dy: Tensor) => dy };
  });
  return (w) => op(w);
}
