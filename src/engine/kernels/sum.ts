/**
 * Sum for the wasm backend, replacing the stock one for one case: the sum
 * over every axis but the last, listed in order (a conv or dense layer's
 * bias gradient, dy summed over batch and space), of float32 with at least
 * 4 channels.
 *
 * The stock kernel first transposes the input so the summed axes are
 * innermost (a copy of the whole tensor, since here they are the leading
 * ones), then sums each channel sequentially: LeNet-5's conv1 bias gradient
 * (Sum of [64,24,24,20] over 3 axes) took 1.2 ms of a ~55 ms step. The
 * column sum of ./sum-columns-simd.ts reads the tensor once, in place, and
 * adds in the same order and precision, so the results are the same bits:
 * 1.48 -> 0.18 ms for [64,24,24,20], 0.48 -> 0.04 ms for [64,8,8,50]
 * (medians of 40 interleaved calls, load ~5 on 2 cores).
 * Every other Sum goes to the stock kernel, whose setupFunc this config
 * forwards.
 */
import type { KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { sumColumnsSimdFor } from './sum-columns-simd.js';
import type { Tf } from './wasm-kernel-utils.js';
import { backendMemory } from './wasm-simd-module.js';

const NAME = 'Sum';

/**
 * Whether `axis` (a number or list, negatives allowed) is 0..rank-2 in that
 * order: the stock kernel sums in the order the axes are listed, and only
 * ascending order is the row-major order the column sum keeps.
 */
function allButLastInOrder(axis: number | number[], rank: number): boolean {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
  return rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
}

/** Creates the KernelConfig; `stock` is the kernel it replaces (every other Sum goes there). */
export function sumKernel(_tf: Tf, stock: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const wasm = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const channels = x.shape[rank - 1] ?? 0;
    const memory = x.dtype === 'float32' && channels >= 4 && allButLastInOrder(axis, rank) ? backendMemory(wasm.wasm) : undefined;
    const simd = memory ? sumColumnsSimdFor(memory) : null;
    if (!simd) {
      if (stock === undefined) throw new Error(`${NAME} on wasm: no stock kernel for a sum over axes [${String(axis)}] of shape [${x.shape.join(', ')}]`);
      return stock.kernelFunc(args);
    }
    const out = wasm.makeOutput(keepDims ? [...Array<number>(rank - 1).fill(1), channels] : [channels], 'float32');
    // Views only after the allocation: malloc may grow the heap, which detaches earlier views.
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    const os = wasm.typedArrayFromHeap(out) as Float32Array;
    simd(xs.byteOffset, os.byteOffset, xs.length / channels, channels);
    return out;
  };
  const config: KernelConfig = { kernelName: NAME, backendName: 'wasm', kernelFunc };
  // The stock kernel's cwrap happens in its setupFunc, which the backend only
  // runs for kernels registered when it initialises: that is now this one.
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}
