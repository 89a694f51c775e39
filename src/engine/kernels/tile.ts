/**
 * Tile for the wasm backend, replacing the stock one for numeric dtypes.
 *
 * The batch-norm gradient (tfjs-core FusedBatchNorm_grad) broadcasts its
 * per-channel factor by tiling a [1,1,1,C] tensor to the full activation
 * shape [N,H,W,C], once per BatchNormalization layer per step. The stock
 * wasm Tile computes every output element's source index with divisions
 * (tile_impl.cc): profiling a MobileNetV2 (alpha 0.35, 32x32, batch 32) Adam
 * step on wasm, its 52 Tile calls took 820 ms, more than all convolutions
 * and their gradients together.
 *
 * Tiling is block copying: in row-major order, the output for dimension d is
 * the block for indices 0..s_d-1 repeated r_d times. So we write the
 * innermost rows once, then repeat each finished block with `copyWithin`
 * (doubling the copied span, so r repeats take log2(r) memmoves), from the
 * innermost dimension outwards. Same values as the stock kernel; strings
 * (not on the heap) and complex go to it.
 */
import type { KernelConfig, KernelFunc, TensorInfo, TileAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'Tile';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Creates the KernelConfig. `stock` is the kernel it replaces, used for
 * dtypes whose data is not a plain heap array; `_tf` is unused (kept for the
 * common `create` signature).
 */
export function tileKernel(_tf: Tf, stock: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const wasm = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = args.attrs as unknown as TileAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
      if (stock === undefined) throw new Error(`${NAME} on wasm: dtype ${x.dtype} needs the stock kernel, which is not registered`);
      return stock.kernelFunc(args);
    }
    if (reps.length !== x.shape.length) {
      throw new Error(`${NAME}: expected ${x.shape.length} reps (one per dimension of x), got ${reps.length}`);
    }
    const outShape = x.shape.map((s, i) => s * reps[i]!);
    // Allocate first: malloc may grow the wasm memory, which detaches views.
    const out = wasm.makeOutput(outShape, x.dtype);
    const dst = wasm.typedArrayFromHeap(out) as HeapArray;
    if (dst.length === 0) return out;
    const src = wasm.typedArrayFromHeap(x) as HeapArray;
    tileInto(src, x.shape, reps, dst);
    return out;
  };
  const config: KernelConfig = { kernelName: NAME, backendName: 'wasm', kernelFunc };
  // The stock kernel's cwrap happens in its setupFunc, which the backend only
  // runs for kernels registered when it initialises: that is now this one.
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * Writes `src` (row-major, `shape`) tiled `reps` times into `dst`, whose
 * length is the product of shape[i] * reps[i]. Exported for tests.
 */
export function tileInto(src: HeapArray, shape: readonly number[], reps: readonly number[], dst: HeapArray): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  // outStride[d]: elements of dst per step of output index d.
  const outStride = new Array<number>(rank);
  const inStride = new Array<number>(rank);
  outStride[rank - 1] = 1;
  inStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    outStride[d] = outStride[d + 1]! * shape[d + 1]! * reps[d + 1]!;
    inStride[d] = inStride[d + 1]! * shape[d + 1]!;
  }
  const fill = (d: number, srcOff: number, dstOff: number): void => {
    const n = shape[d]!;
    if (d === rank - 1) {
      dst.set(src.subarray(srcOff, srcOff + n), dstOff);
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, srcOff + i * inStride[d]!, dstOff + i * outStride[d]!);
    }
    repeat(dst, dstOff, n * outStride[d]!, reps[d]!);
  };
  fill(0, 0, 0);
}

/** dst[at .. at + block*times) = `times` copies of dst[at .. at + block), by doubling. */
function repeat(dst: HeapArray, at: number, block: number, times: number): void {
  const total = block * times;
  let done = block;
  while (done < total) {
    const n = Math.min(done, total - done);
    dst.copyWithin(at + done, at, at + n);
    done += n;
  }
}
