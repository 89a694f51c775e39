/**
 * A conv's filter gradient as ONE matrix product over an im2col patch matrix
 * (./im2col.ts), for the layers where the swapped-convolution route of
 * conv2d-backprop-filter.ts is slow: few input channels (a grayscale first
 * layer). The product runs on the BatchMatMul kernel untransposed and
 * unbatched, the form the stock C++ sends to XNNPACK's fully-connected
 * operator.
 *
 * Shapes are passed to the matmul as aliases of the same data (a TensorInfo
 * with another shape, exactly what the wasm Reshape kernel returns), so no
 * data moves besides the patch copy.
 *
 * (The forward conv by the same route was tried and dropped: for LeNet-5's
 * conv1 the stock XNNPACK convolution was faster, 2.3 vs 3.2 ms min of 40
 * interleaved calls.)
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { im2colColumns, patchColumns, patchRows } from './im2col.js';
import type { PatchGeometry } from './im2col.js';
import { disposeInfo, runWasmKernel } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

/** `info`'s data seen with another shape (the caller keeps ownership of the data). */
function alias(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** The patch matrix of `x` for `g`, written by `fill`, as a new [1, rows, cols] tensor. */
function patches(
  wasm: BackendWasm,
  x: TensorInfo,
  shape: [number, number, number],
  fill: (x: Float32Array, out: Float32Array) => void,
): TensorInfo {
  // Allocate first: malloc may grow the wasm memory, which detaches views.
  const cols = wasm.makeOutput(shape, 'float32');
  fill(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(cols) as Float32Array);
  return cols;
}

/**
 * dW = patches^T[K,M] x dy[M,Co] for the conv with geometry `g`, through
 * BatchMatMul. Returns `filterShape` ([KH,KW,Ci,Co], whose rows are the
 * patch columns in the same order).
 */
export function conv2dFilterGradByIm2col(
  tf: Tf,
  wasm: BackendWasm,
  g: PatchGeometry,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
): TensorInfo {
  const m = patchRows(g);
  const k = patchColumns(g);
  const co = filterShape[3];
  const colsT = patches(wasm, x, [1, k, m], (xs, out) => im2colColumns(xs, g, out));
  let dw: TensorInfo;
  try {
    dw = runWasmKernel(tf, wasm, 'BatchMatMul', { a: colsT, b: alias(dy, [1, m, co]) }, { transposeA: false, transposeB: false });
  } finally {
    disposeInfo(wasm, colsT);
  }
  return alias(dw, [...filterShape]);
}
