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
import { im2colColumns, patchColumns, patchRows, windowsInside } from './im2col.js';
import { im2colValid1SimdFor } from './im2col-simd.js';
import type { PatchGeometry } from './im2col.js';
import { disposeInfo, runWasmKernel } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';
import { backendMemory } from './wasm-simd-module.js';

/**
 * im2colColumns of `x` into `out` (views of the wasm heap), by the SIMD copy
 * of ./im2col-simd.ts for one channel, width stride 1 and windows inside the
 * image. Exported for tests.
 */
export function im2colColumnsOnHeap(wasm: BackendWasm, x: Float32Array, g: PatchGeometry, out: Float32Array): void {
  const fits = g.channels === 1 && g.strideW === 1 && windowsInside(g);
  const memory = fits ? backendMemory(wasm.wasm) : undefined;
  const simd = memory ? im2colValid1SimdFor(memory) : null;
  if (!simd) {
    im2colColumns(x, g, out);
    return;
  }
  const inRow = g.inW * 4;
  const image = g.inH * inRow;
  const run = g.outW * 4;
  simd(x.byteOffset, out.byteOffset, g.kh * inRow, inRow, g.kw * 4, g.batch * image, image, g.outH * g.strideH * inRow, g.strideH * inRow, run, run - (run % 16));
}

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
  const colsT = patches(wasm, x, [1, k, m], (xs, out) => im2colColumnsOnHeap(wasm, xs, g, out));
  let dw: TensorInfo;
  try {
    dw = runWasmKernel(tf, wasm, 'BatchMatMul', { a: colsT, b: alias(dy, [1, m, co]) }, { transposeA: false, transposeB: false });
  } finally {
    disposeInfo(wasm, colsT);
  }
  return alias(dw, [...filterShape]);
}
