/**
 * Conv2DBackpropFilter for the wasm backend: the gradient of conv2d with
 * respect to its filter. tfjs-backend-wasm 4.22 does not register it, so any
 * model with a trainable conv2d layer fails on wasm with
 * "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'".
 *
 * Built from the stock XNNPACK forward convolution with batch and channels
 * swapped. For NHWC x [N,H,W,Ci], dy [N,OH,OW,Co], stride s, padding (pt, pl):
 *
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s + kh - pt, ow*s + kw - pl, ci] * dy[n,oh,ow,co]
 *
 * which is a forward conv2d whose
 *   input  = x^T  [Ci, H, W, N]    (input channels become the batch, batch the channels)
 *   filter = dy^T [OH, OW, N, Co]  (dy's spatial extent is the filter window)
 *   dilation = the original stride s, stride 1, padding top/left = pt/pl,
 *   output = [Ci, KH', KW', Co]  -> transposed to [KH', KW', Ci, Co].
 * Bottom/right padding is chosen so the output is exactly KH x KW; when the
 * original conv ignored trailing input rows/cols ('valid' with stride > 1) the
 * required padding would be negative, so we pad 0 and slice the extra rows off.
 *
 * Few input channels (a grayscale first layer) make that convolution slow
 * (LeNet-5 conv1: 2.7 GMAC/s); there the gradient is one matmul over an
 * im2col patch matrix instead (./conv2d-im2col.ts, chosen by im2colPays).
 *
 * 1x1 stride-1 convs (MobileNet's expand/project layers) take one matmul
 * x^T . dy instead (./conv2d-1x1.ts): their swapped convolution would have
 * dy's whole H x W as its window.
 *
 * Original dilations are always 1 here: tfjs-core's conv2d gradient rejects
 * dilation > 1 before it reaches this kernel.
 */
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { isPointwise, pointwiseFilterGrad } from './conv2d-1x1.js';
import { conv2dFilterGradByIm2col } from './conv2d-im2col.js';
import { im2colPays } from './im2col.js';
import { assertFloat32, disposeInfo, runWasmKernel, shape4 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'Conv2DBackpropFilter';

/** Creates the KernelConfig; `tf` is passed in so this module loads without tfjs. */
export function conv2DBackpropFilterKernel(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
      attrs as unknown as Conv2DBackpropFilterAttrs;
    if (dataFormat === 'NCHW') {
      throw new Error(`${NAME} on wasm supports dataFormat 'NHWC' only, got 'NCHW'`);
    }
    assertFloat32(NAME, 'x', x);
    assertFloat32(NAME, 'dy', dy);
    const [, inH, inW] = shape4(NAME, 'x', x);
    const [, outH, outW, dyCo] = shape4(NAME, 'dy', dy);
    const [kh, kw, ci, co] = filterShape;
    if (co !== dyCo) throw new Error(`${NAME}: dy has ${dyCo} channels, filterShape expects ${co}`);

    // Only the padding and strides are taken from convInfo; the output size
    // is dy's, which is authoritative (it came out of the forward pass).
    const info = tf.backend_util.computeConv2DInfo(
      shape4(NAME, 'x', x), filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
    );
    if (isPointwise(info)) return pointwiseFilterGrad(tf, wasm, x, dy, filterShape);
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const [batch] = shape4(NAME, 'x', x);
    const g = { batch, inH, inW, channels: ci, kh, kw, outH, outW, strideH: sh, strideW: sw, padTop: top, padLeft: left };
    if (im2colPays(g)) return conv2dFilterGradByIm2col(tf, wasm, g, x, dy, filterShape);

    const bottom = Math.max(0, kh + (outH - 1) * sh - inH - top);
    const right = Math.max(0, kw + (outW - 1) * sw - inW - left);
    // Height/width of the swapped conv's output: >= kh/kw, more when sliced.
    const gotH = inH + top + bottom - (outH - 1) * sh;
    const gotW = inW + left + right - (outW - 1) * sw;

    const xT = runWasmKernel(tf, wasm, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
    let y: TensorInfo;
    try {
      const dyT = runWasmKernel(tf, wasm, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
      try {
        y = runWasmKernel(tf, wasm, 'Conv2D', { x: xT, filter: dyT }, {
          strides: [1, 1],
          pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
          dilations: [sh, sw],
          dataFormat: 'NHWC',
        });
      } finally {
        // Disposing the filter also frees the XNNPACK operator cached for it.
        disposeInfo(wasm, dyT);
      }
    } finally {
      disposeInfo(wasm, xT);
    }

    const dw = runWasmKernel(tf, wasm, 'Transpose', { x: y }, { perm: [1, 2, 0, 3] });
    disposeInfo(wasm, y);
    if (gotH === kh && gotW === kw) return dw;
    const cropped = runWasmKernel(tf, wasm, 'Slice', { x: dw }, { begin: [0, 0, 0, 0], size: [kh, kw, ci, co] });
    disposeInfo(wasm, dw);
    return cropped;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc };
}
