/**
 * The gradients of a 1x1, stride-1, unpadded conv2d as single matmuls.
 *
 * Such a conv (MobileNet's expand and project layers, 34 of MobileNetV2's 35
 * convs) is a Dense layer over the N*H*W pixels: with x viewed as [R, Ci],
 * dy as [R, Co] and the filter as [Ci, Co],
 *
 *   dW = x^T . dy        dx = dy . W^T
 *
 * which the BatchMatMul kernel (ours, batch-mat-mul.ts: transpose into a
 * contiguous buffer, then XNNPACK) computes directly. The general routes
 * were built for spatial filters: the filter gradient's swapped convolution
 * (conv2d-backprop-filter.ts) has dy's whole H x W as its "filter" window, so
 * a [32,16,16,8] -> 48 layer took 8.5 ms there against 0.3 ms for its
 * forward conv (bench/results/profile-mobilenet-before.md); the input
 * gradient built a flipped, transposed filter and a fresh XNNPACK conv
 * operator per call.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { runWasmKernel } from './wasm-kernel-utils.js';
import type { Shape4, Tf } from './wasm-kernel-utils.js';

type Conv2DInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

/** Whether `info` describes a conv these matmuls compute: 1x1 filter, stride 1, no padding, no dilation. */
export function isPointwise(info: Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
}

/** dW [1, 1, Ci, Co] = x^T . dy for x [N,H,W,Ci], dy [N,H,W,Co]. */
export function pointwiseFilterGrad(tf: Tf, wasm: BackendWasm, x: TensorInfo, dy: TensorInfo, filterShape: Shape4): TensorInfo {
  const [, , ci, co] = filterShape;
  const rows = x.shape.reduce((a, b) => a * b, 1) / ci;
  const out = runWasmKernel(tf, wasm, 'BatchMatMul', { a: { ...x, shape: [1, rows, ci] }, b: { ...dy, shape: [1, rows, co] } }, {
    transposeA: true, transposeB: false,
  });
  // A reshape, as the Reshape kernel does it: same data, new shape.
  return { ...out, shape: [...filterShape] };
}

/** dx [N,H,W,Ci] = dy . W^T for dy [N,H,W,Co], filter [1, 1, Ci, Co]. */
export function pointwiseInputGrad(tf: Tf, wasm: BackendWasm, dy: TensorInfo, filter: TensorInfo, inputShape: Shape4): TensorInfo {
  const [, , ci, co] = filter.shape as Shape4;
  const rows = dy.shape.reduce((a, b) => a * b, 1) / co;
  const out = runWasmKernel(tf, wasm, 'BatchMatMul', { a: { ...dy, shape: [1, rows, co] }, b: { ...filter, shape: [1, ci, co] } }, {
    transposeA: false, transposeB: true,
  });
  return { ...out, shape: [...inputShape] };
}
