/**
 * Conv2DBackpropInput for the wasm backend, replacing the stock one.
 *
 * The stock kernel is correct but a scalar C++ loop (no XNNPACK): in a LeNet-5
 * training step on wasm it was the most expensive kernel, 3x the filter
 * gradient. For stride 1 the input gradient is a plain forward convolution
 * of dy with the filter flipped in space and its channel axes swapped:
 *
 *   dx[n,p,q,ci] = sum_{a,b,co} dy[n, p + a - (KH-1-pt), q + b - (KW-1-pl), co]
 *                               * W[KH-1-a, KW-1-b, ci, co]
 *
 * i.e. conv2d(dy, reverse(W, [0,1]) transposed to [KH,KW,Co,Ci]) with padding
 * top/left = K-1-pt / K-1-pl and bottom/right chosen so the output is H x W,
 * which the stock XNNPACK Conv2D runs 4-14x faster (bench/kernels.mjs) with
 * the same float32 summation order (bit-identical results in our tests).
 *
 * That convolution multiplies H*W / (OH*OW) times the forward's MACs (the
 * padding zeros around dy): 2.25x for LeNet-5's 'valid' conv2. When that
 * ratio is at least COL2IM_MIN_WORK_RATIO, and for strides > 1 (the forward
 * conv skipped positions, so dy would need zeros inserted), the gradient is
 * instead one matmul dy x filter^T followed by col2im (./conv2d-col2im.ts).
 *
 * 1x1 stride-1 convs take one matmul dy x W^T instead (./conv2d-1x1.ts).
 *
 * Explicit paddings that would need negative padding here, and patch
 * matrices over IM2COL_MAX_BYTES, are delegated to the stock kernel, whose
 * setupFunc this config forwards.
 */
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { isPointwise, pointwiseInputGrad } from './conv2d-1x1.js';
import { conv2dInputGradByCol2im } from './conv2d-col2im.js';
import { IM2COL_MAX_BYTES } from './im2col.js';
import type { PatchGeometry } from './im2col.js';
import { assertFloat32, disposeInfo, runWasmKernel, shape4 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'Conv2DBackpropInput';

/**
 * Stride-1 convs whose padded-dy convolution does at least this many times
 * the forward's MACs take the col2im route. Measured on LeNet-5's conv2
 * (ratio 2.25, batch 64): 17.5 ms vs 33.7 ms, min of 25 interleaved calls on
 * a loaded machine; a stride-2 'same' 5x5 16->32 conv: 10.5 ms vs 60.3 ms on
 * the stock scalar kernel. 'same' convs (ratio ~1) stay on the convolution,
 * which has no scatter pass.
 */
export const COL2IM_MIN_WORK_RATIO = 1.5;

/**
 * Creates the KernelConfig. `stock` is the kernel it replaces (the stock wasm
 * one), used for the cases the fast path does not cover; `tf` is passed in so
 * this module loads without tfjs.
 */
export function conv2DBackpropInputKernel(tf: Tf, stock: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const wasm = args.backend as BackendWasm;
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const fallback = (why: string): TensorInfo | TensorInfo[] => {
      if (stock === undefined) throw new Error(`${NAME} on wasm: ${why}, and there is no stock kernel to fall back to`);
      return stock.kernelFunc(args);
    };
    if (dataFormat === 'NCHW') return fallback("dataFormat 'NCHW'");
    assertFloat32(NAME, 'dy', dy);
    assertFloat32(NAME, 'filter', filter);
    const [, outH, outW] = shape4(NAME, 'dy', dy);
    const [kh, kw] = shape4(NAME, 'filter', filter);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, shape4(NAME, 'filter', filter), strides, 1, pad, dimRoundingMode, false, 'channelsLast',
    );
    if (isPointwise(info)) return pointwiseInputGrad(tf, wasm, dy, filter, inputShape);
    const [batch, inH, inW, ci] = inputShape;
    const g: PatchGeometry = {
      batch, inH, inW, channels: ci, kh, kw, outH, outW,
      strideH: info.strideHeight, strideW: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
    };
    const strided = info.strideHeight !== 1 || info.strideWidth !== 1;
    const fits = 4 * batch * outH * outW * kh * kw * ci <= IM2COL_MAX_BYTES;
    if (fits && (strided || (inH * inW) / (outH * outW) >= COL2IM_MIN_WORK_RATIO)) {
      return conv2dInputGradByCol2im(tf, wasm, g, dy, filter);
    }
    if (strided) return fallback('strides > 1 and a patch matrix over IM2COL_MAX_BYTES');
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = inH - outH + info.padInfo.top;
    const right = inW - outW + info.padInfo.left;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return fallback('padding wider than the filter');

    const flipped = runWasmKernel(tf, wasm, 'Reverse', { x: filter }, { dims: [0, 1] });
    let swapped: TensorInfo;
    try {
      swapped = runWasmKernel(tf, wasm, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    } finally {
      disposeInfo(wasm, flipped);
    }
    try {
      return runWasmKernel(tf, wasm, 'Conv2D', { x: dy, filter: swapped }, {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dilations: [1, 1],
        dataFormat: 'NHWC',
      });
    } finally {
      // Disposing the filter also frees the XNNPACK operator cached for it.
      disposeInfo(wasm, swapped);
    }
  };
  const config: KernelConfig = { kernelName: NAME, backendName: 'wasm', kernelFunc };
  // The stock kernel's cwrap happens in its setupFunc, which the backend only
  // runs for kernels registered when it initialises: that is now this one.
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}
