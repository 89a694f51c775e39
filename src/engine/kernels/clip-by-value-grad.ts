/**
 * ClipByValue's gradient in one kernel pass on wasm.
 *
 * Keras' ReLU(max_value=6) (every MobileNetV2 activation) is relu then
 * clipByValue, and tfjs-core 4.22's clipByValue gradient is
 * where(logicalAnd(greaterEqual(x, min), lessEqual(x, max)), dy, zerosLike(dy)):
 * five kernels and four full-size intermediates per layer. On wasm the two
 * scalar comparisons take a slow broadcasting path, and the lot was 11% of a
 * MobileNetV2 step's kernel time (bench/results/profile-mobilenet-before.md).
 * The kernel computes dx = (min <= x <= max) ? dy : 0 in one pass.
 *
 * tfjs keeps one gradient per op for every backend, so the replacement
 * gradient runs the kernel where the active backend has it and tfjs-core's
 * composition (same values) everywhere else.
 */
import type { ClipByValueAttrs, GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertFloat32 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

/** Inputs {dy, x}, attrs {clipValueMin, clipValueMax} (ClipByValue's own); output dx. */
export const CLIP_BY_VALUE_GRAD = 'ModelpressClipByValueGrad';

export function clipByValueGradKernel(): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
    const { clipValueMin: min, clipValueMax: max } = attrs as unknown as ClipByValueAttrs;
    assertFloat32(CLIP_BY_VALUE_GRAD, 'dy', dy);
    assertFloat32(CLIP_BY_VALUE_GRAD, 'x', x);
    if (dy.shape.join() !== x.shape.join()) {
      throw new Error(`${CLIP_BY_VALUE_GRAD}: dy [${dy.shape.join(', ')}] and x [${x.shape.join(', ')}] differ`);
    }
    const out = wasm.makeOutput(x.shape, 'float32');
    // Views only after the allocation: malloc may grow the heap, which detaches earlier views.
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const dx = wasm.typedArrayFromHeap(out) as Float32Array;
    // The stock path compares against float32 scalar tensors: round the bounds the same way so
    // values at a bound fall on the same side.
    const lo = Math.fround(min);
    const hi = Math.fround(max);
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      dx[i] = v >= lo && v <= hi ? g[i]! : 0;
    }
    return out;
  };
  return { kernelName: CLIP_BY_VALUE_GRAD, backendName: 'wasm', kernelFunc };
}

export function clipByValueGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved as [Tensor];
      const g = dy as Tensor;
      const { clipValueMin: min, clipValueMax: max } = attrs as unknown as ClipByValueAttrs;
      const fused = x.dtype === 'float32' && g.dtype === 'float32' && tf.getKernel(CLIP_BY_VALUE_GRAD, tf.getBackend()) !== undefined;
      return {
        x: () => fused
          ? tf.engine().runKernel(CLIP_BY_VALUE_GRAD, { dy: g, x }, attrs) as Tensor
          : tf.where(tf.logicalAnd(tf.greaterEqual(x, min), tf.lessEqual(x, max)), g, tf.zerosLike(g)),
      };
    },
  };
}
