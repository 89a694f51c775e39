/**
 * A conv's input gradient as ONE matrix product then col2im (./im2col.ts):
 * dcols[M, K] = dy[M, Co] x filter[K, Co]^T, then each patch row added back
 * where it was read from. M = N*OH*OW output pixels, K = KH*KW*Ci.
 *
 * Why: the stride-1 route of conv2d-backprop-input.ts is a forward
 * convolution over dy padded by K-1, which multiplies H*W/(OH*OW) times the
 * forward's MACs, over half of them with padding zeros when the forward conv
 * was 'valid' on a small image (LeNet-5's conv2: 12x12 from 8x8, 2.25x).
 * The product here does exactly the forward's MACs on XNNPACK's matmul; the
 * scatter-add is cheap because each patch row is kw*Ci contiguous floats.
 * It is also the route for strides > 1, which otherwise run the stock scalar
 * C++ loop. When every window lies inside the image ('valid'), the
 * scatter-add runs as wasm SIMD (./col2im-simd.ts), with the same bits.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { col2imValidSimdFor } from './col2im-simd.js';
import { col2imRows, patchColumns, patchRows, windowsInside } from './im2col.js';
import type { PatchGeometry } from './im2col.js';
import { disposeInfo, runWasmKernel } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';
import { backendMemory } from './wasm-simd-module.js';

/** col2imRows into `dx` (zeroed; both views of the wasm heap), by the SIMD function where it applies. Exported for tests. */
export function col2im(wasm: BackendWasm, cols: Float32Array, g: PatchGeometry, dx: Float32Array): void {
  const memory = windowsInside(g) ? backendMemory(wasm.wasm) : undefined;
  const simd = memory ? col2imValidSimdFor(memory) : null;
  if (!simd) {
    col2imRows(cols, g, dx);
    return;
  }
  const pixel = g.channels * 4;
  const inRow = g.inW * pixel;
  const image = g.inH * inRow;
  const run = g.kw * pixel;
  simd(
    cols.byteOffset, dx.byteOffset, g.batch * image, image,
    g.outH * g.strideH * inRow, g.strideH * inRow, g.outW * g.strideW * pixel, g.strideW * pixel,
    g.kh * inRow, inRow, run, run - (run % 16),
  );
}

/** dx [N, H, W, Ci] for the conv with geometry `g`, from dy [N, OH, OW, Co] and filter [KH, KW, Ci, Co]. */
export function conv2dInputGradByCol2im(tf: Tf, wasm: BackendWasm, g: PatchGeometry, dy: TensorInfo, filter: TensorInfo): TensorInfo {
  const m = patchRows(g);
  const k = patchColumns(g);
  const co = filter.shape[3]!;
  // Aliases (what the wasm Reshape kernel returns): the same data seen as matrices.
  const a: TensorInfo = { dataId: dy.dataId, shape: [1, m, co], dtype: 'float32' };
  const b: TensorInfo = { dataId: filter.dataId, shape: [1, k, co], dtype: 'float32' };
  // Our BatchMatMul turns transposeB into a copy of the (small) filter plus XNNPACK's product.
  const cols = runWasmKernel(tf, wasm, 'BatchMatMul', { a, b }, { transposeA: false, transposeB: true });
  try {
    // Allocate before taking views: malloc may grow the wasm memory, which detaches them.
    const dx = wasm.makeOutput([g.batch, g.inH, g.inW, g.channels], 'float32');
    const out = wasm.typedArrayFromHeap(dx) as Float32Array;
    out.fill(0);
    col2im(wasm, wasm.typedArrayFromHeap(cols) as Float32Array, g, out);
    return dx;
  } finally {
    disposeInfo(wasm, cols);
  }
}
