/**
 * ModelpressAdamUpdate (ours, wasm): one Adam step for one variable in one
 * pass, instead of tfjs-core's AdamOptimizer composition of ~14 elementwise
 * kernels per variable and step (Multiply, Add, Square, RealDiv, Sqrt, and
 * the Identity of every assign), each a full pass over the variable's
 * memory and a dispatch through the engine.
 *
 * The arithmetic is tfjs-core 4.22's AdamOptimizer.applyGradients, op by op,
 * each result rounded to float32 like the kernel it replaces (Math.fround of
 * a float64 +, *, / or sqrt of float32 operands is the correctly rounded
 * float32 result, which is what the cpu kernels store and the wasm ones
 * compute), so the outputs are the same bits as tf.train.adam's:
 *
 *   m'  = m * beta1 + g * (1 - beta1)
 *   v'  = v * beta2 + (g * g) * (1 - beta2)
 *   x'  = ((m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon)) * -lr + x
 *
 * (epsilon added after the square root, outside the bias correction, as
 * tfjs does; Keras and PyTorch differ in where it goes.) The scalars arrive
 * as float64 attributes and are rounded here exactly where tfjs makes its
 * float32 scalars: `1 - beta1` is computed in float64 first, the bias
 * corrections `1 - beta^t` come from the caller (src/engine/fused-adam.ts
 * keeps beta^t in the optimizer's float32 variables, as tfjs does).
 *
 * On the wasm heap the work is done by a wasm SIMD function
 * (./adam-update-simd.ts), four lanes at a time with the same float32
 * operations; the scalar loop below is the reference, takes the last n % 4
 * elements, and everything where wasm SIMD is missing. LeNet-5's optimizer
 * phase: 2.90 -> 0.76 ms per step (median of 60 interleaved steps, load ~3.5
 * on 2 cores).
 *
 * Outputs are new buffers [x', m', v'], not writes into the inputs: a
 * variable's data may be shared with other tensors (tf.clone and
 * Variable.assign share data ids), which an in-place write would change too.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { adamSimdFor } from './adam-update-simd.js';
import { backendMemory } from './wasm-simd-module.js';
import { assertFloat32 } from './wasm-kernel-utils.js';

/** Inputs {x, m, v, g} (same shape, float32), attrs {@link AdamUpdateAttrs}; outputs [x', m', v']. */
export const ADAM_UPDATE = 'ModelpressAdamUpdate';

export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t as the float32 the optimizer computed it. */
  oneMinusAccBeta1: number;
  /** 1 - beta2^t likewise. */
  oneMinusAccBeta2: number;
}

/**
 * The update over plain arrays: writes x', m', v' into `xOut`, `mOut`,
 * `vOut` (which may be the inputs themselves). Exported for the test's
 * reference and for any backend whose memory is a Float32Array.
 */
export function adamUpdate(
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  xOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const f = Math.fround;
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const c1 = f(1 - a.beta1);
  const c2 = f(1 - a.beta2);
  const d1 = f(a.oneMinusAccBeta1);
  const d2 = f(a.oneMinusAccBeta2);
  const eps = f(a.epsilon);
  const negLr = f(-a.learningRate);
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    const mi = f(f(m[i]! * b1) + f(gi * c1));
    const vi = f(f(v[i]! * b2) + f(f(gi * gi) * c2));
    const denominator = f(f(Math.sqrt(f(vi / d2))) + eps);
    xOut[i] = f(f(f(f(mi / d1) / denominator) * negLr) + x[i]!);
    mOut[i] = mi;
    vOut[i] = vi;
  }
}

/** Creates the KernelConfig (no tfjs needed: the arithmetic is all here). */
export function adamUpdateKernel(): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { x, m, v, g } = inputs as { x: TensorInfo; m: TensorInfo; v: TensorInfo; g: TensorInfo };
    for (const [name, info] of Object.entries({ x, m, v, g })) {
      assertFloat32(ADAM_UPDATE, name, info);
      if (info.shape.length !== x.shape.length || info.shape.some((d, i) => d !== x.shape[i])) {
        throw new Error(`${ADAM_UPDATE}: expected ${name} of shape [${x.shape.join(', ')}] (the variable's), got [${info.shape.join(', ')}]`);
      }
    }
    const xOut = wasm.makeOutput(x.shape, 'float32');
    const mOut = wasm.makeOutput(x.shape, 'float32');
    const vOut = wasm.makeOutput(x.shape, 'float32');
    // Views only after every allocation: malloc may grow the heap, which detaches earlier views.
    const views = [x, m, v, g, xOut, mOut, vOut].map((info) => wasm.typedArrayFromHeap(info) as Float32Array);
    const a = attrs as unknown as AdamUpdateAttrs;
    const memory = backendMemory(wasm.wasm);
    const simd = memory ? adamSimdFor(memory) : null;
    // SIMD over whole groups of four, the scalar loop for the rest (and everywhere without wasm SIMD).
    const n = views[0]!.length;
    const head = simd ? n - (n % 4) : 0;
    if (simd && head > 0) {
      const f = Math.fround;
      const [xa, ma, va, ga, xo, mo, vo] = views.map((view) => view.byteOffset);
      simd(xa!, ma!, va!, ga!, xo!, mo!, vo!, head, a.beta1, a.beta2, f(1 - a.beta1), f(1 - a.beta2), a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, -a.learningRate);
    }
    if (head < n) {
      const [xs, ms, vs, gs, xo, mo, vo] = views.map((view) => view.subarray(head));
      adamUpdate(xs!, ms!, vs!, gs!, xo!, mo!, vo!, a);
    }
    return [xOut, mOut, vOut];
  };
  return { kernelName: ADAM_UPDATE, backendName: 'wasm', kernelFunc };
}
