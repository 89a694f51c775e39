/**
 * Training-mode batch normalization as two wasm kernels (forward and
 * gradient) and the gradient that joins them, for
 * src/engine/fused-batch-norm-training.ts.
 *
 * tfjs-layers' BatchNormalization in training mode is `moments` + `batchNorm`
 * (Mean, Sub, Square, Mean, FusedBatchNorm), and its gradient is tfjs-core's
 * FusedBatchNorm gradient plus the gradients of the moments (Sum, Multiply,
 * Sub, Tile, Rsqrt, RealDiv, Reshape, broadcasting): some 60 kernel calls per
 * layer and step. On a MobileNetV2 at 32x32 (52 batch norms on maps of 16x16
 * down to 1x1) they are mostly tiny, so per-call dispatch, not arithmetic, was
 * about 40% of a step's kernel time (bench/results/profile-mobilenet-before.md).
 * Here each direction is one pass or two over the activations.
 *
 * For x viewed as [R, C] (channels last, R = every other axis):
 *
 *   forward:  mean_c = sum_r x / R,  var_c = sum_r (x - mean_c)^2 / R  (biased, as tf.moments)
 *             y = (x - mean_c) * gamma_c / sqrt(var_c + eps) + beta_c
 *   gradient: xhat = (x - mean_c) * invstd_c,  dbeta_c = sum_r dy,  dgamma_c = sum_r dy * xhat
 *             dx = gamma_c * invstd_c / R * (R * dy - dbeta_c - xhat * dgamma_c)
 *
 * which is the exact derivative of the composed graph, mean and variance
 * included. Per-channel sums accumulate in float64, like the cpu backend.
 * The mean and variance outputs feed only the layer's moving averages, whose
 * updates are variable writes the tape does not follow, so the gradient
 * takes no incoming gradient from them.
 */
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertFloat32 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

/** Forward kernel: inputs {x, gamma, beta}, attr {epsilon}; outputs [y, mean, variance]. */
export const BATCH_NORM_TRAINING = 'ModelpressBatchNormTraining';
/** Gradient kernel: inputs {dy, x, gamma, mean, variance}, attr {epsilon}; outputs [dx, dgamma, dbeta]. */
export const BATCH_NORM_TRAINING_GRAD = 'ModelpressBatchNormTrainingGrad';

export interface BatchNormTrainingAttrs {
  epsilon: number;
}

/** The channel count (last axis) and the row count R; throws on a channel mismatch. */
function rowsAndChannels(kernel: string, x: TensorInfo, params: Record<string, TensorInfo>): [number, number] {
  const channels = x.shape[x.shape.length - 1];
  if (x.shape.length < 2 || channels === undefined) {
    throw new Error(`${kernel}: expected x of rank >= 2 (channels last), got shape [${x.shape.join(', ')}]`);
  }
  for (const [name, p] of Object.entries(params)) {
    assertFloat32(kernel, name, p);
    if (p.shape.length !== 1 || p.shape[0] !== channels) {
      throw new Error(`${kernel}: expected ${name} of shape [${channels}] (x's last axis), got [${p.shape.join(', ')}]`);
    }
  }
  const size = x.shape.reduce((a, b) => a * b, 1);
  return [size / channels, channels];
}

export function batchNormTrainingKernel(): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    assertFloat32(BATCH_NORM_TRAINING, 'x', x);
    const [rows, channels] = rowsAndChannels(BATCH_NORM_TRAINING, x, { gamma, beta });
    const y = wasm.makeOutput(x.shape, 'float32');
    const meanOut = wasm.makeOutput([channels], 'float32');
    const varOut = wasm.makeOutput([channels], 'float32');
    // Views only after every allocation: malloc may grow the heap, which detaches earlier views.
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    const g = wasm.typedArrayFromHeap(gamma) as Float32Array;
    const b = wasm.typedArrayFromHeap(beta) as Float32Array;
    const ys = wasm.typedArrayFromHeap(y) as Float32Array;
    const n = xs.length;
    // One pass for both statistics: sums of x - k and of (x - k)^2 with k = the first row, in float64.
    // Shifting by a sample keeps E[d^2] - E[d]^2 from cancelling (the textbook shifted-data variance);
    // float64 sums of float32 values lose nothing the float32 outputs could show.
    const k = Float64Array.from(xs.subarray(0, channels));
    const sum = new Float64Array(channels);
    const sumSq = new Float64Array(channels);
    for (let i = 0; i < n; i += channels) {
      for (let c = 0; c < channels; c++) {
        const d = xs[i + c]! - k[c]!;
        sum[c] = sum[c]! + d;
        sumSq[c] = sumSq[c]! + d * d;
      }
    }
    const mean = new Float64Array(channels);
    const variance = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const m = sum[c]! / rows;
      mean[c] = k[c]! + m;
      variance[c] = Math.max(0, sumSq[c]! / rows - m * m);
    }
    const scale = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      scale[c] = g[c]! / Math.sqrt(variance[c]! + epsilon);
      shift[c] = b[c]! - mean[c]! * scale[c]!;
    }
    for (let i = 0; i < n; i += channels) for (let c = 0; c < channels; c++) ys[i + c] = xs[i + c]! * scale[c]! + shift[c]!;
    (wasm.typedArrayFromHeap(meanOut) as Float32Array).set(mean);
    (wasm.typedArrayFromHeap(varOut) as Float32Array).set(variance);
    return [y, meanOut, varOut];
  };
  return { kernelName: BATCH_NORM_TRAINING, backendName: 'wasm', kernelFunc };
}

export function batchNormTrainingGradKernel(): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { dy, x, gamma, mean, variance } = inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', TensorInfo>;
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    assertFloat32(BATCH_NORM_TRAINING_GRAD, 'x', x);
    assertFloat32(BATCH_NORM_TRAINING_GRAD, 'dy', dy);
    if (dy.shape.join() !== x.shape.join()) {
      throw new Error(`${BATCH_NORM_TRAINING_GRAD}: dy [${dy.shape.join(', ')}] and x [${x.shape.join(', ')}] differ`);
    }
    const [rows, channels] = rowsAndChannels(BATCH_NORM_TRAINING_GRAD, x, { gamma, mean, variance });
    const dx = wasm.makeOutput(x.shape, 'float32');
    const dgammaOut = wasm.makeOutput([channels], 'float32');
    const dbetaOut = wasm.makeOutput([channels], 'float32');
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const gam = wasm.typedArrayFromHeap(gamma) as Float32Array;
    const muHeap = wasm.typedArrayFromHeap(mean) as Float32Array;
    const v = wasm.typedArrayFromHeap(variance) as Float32Array;
    const out = wasm.typedArrayFromHeap(dx) as Float32Array;
    const n = xs.length;
    const invstd = new Float64Array(channels);
    const mu = Float64Array.from(muHeap);
    for (let c = 0; c < channels; c++) invstd[c] = 1 / Math.sqrt(v[c]! + epsilon);
    const sumDy = new Float64Array(channels);
    const sumDyXc = new Float64Array(channels); // sum dy * (x - mean); times invstd it is dgamma
    for (let i = 0; i < n; i += channels) {
      for (let c = 0; c < channels; c++) {
        const d = g[i + c]!;
        sumDy[c] = sumDy[c]! + d;
        sumDyXc[c] = sumDyXc[c]! + d * (xs[i + c]! - mu[c]!);
      }
    }
    // dx = a*dy + k*x + m per channel, with a = gamma*invstd, k = -a*invstd*dgamma/R, m = -a*dbeta/R - k*mean.
    const sumDyXhat = new Float64Array(channels);
    const a = new Float64Array(channels);
    const k = new Float64Array(channels);
    const m = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      sumDyXhat[c] = sumDyXc[c]! * invstd[c]!;
      a[c] = gam[c]! * invstd[c]!;
      k[c] = (-a[c]! * invstd[c]! * sumDyXhat[c]!) / rows;
      m[c] = (-a[c]! * sumDy[c]!) / rows - k[c]! * mu[c]!;
    }
    for (let i = 0; i < n; i += channels) {
      for (let c = 0; c < channels; c++) out[i + c] = a[c]! * g[i + c]! + k[c]! * xs[i + c]! + m[c]!;
    }
    (wasm.typedArrayFromHeap(dgammaOut) as Float32Array).set(sumDyXhat);
    (wasm.typedArrayFromHeap(dbetaOut) as Float32Array).set(sumDy);
    return [dx, dgammaOut, dbetaOut];
  };
  return { kernelName: BATCH_NORM_TRAINING_GRAD, backendName: 'wasm', kernelFunc };
}

/**
 * The gradient of {@link BATCH_NORM_TRAINING}: one gradient kernel call
 * yields all three input gradients. It runs when the tape calls gradFunc,
 * not inside the per-input thunks: the tape runs each thunk in its own tidy,
 * which would free the other two outputs; made here, they live in the
 * backward pass's scope, which frees whichever the tape did not ask for.
 */
export function batchNormTrainingGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, gamma, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor];
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x, gamma, mean, variance }, attrs) as Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  };
}
