/**
 * Conv2DBackpropInput for the wasm backend, replacing the stock one for
 * stride 1.
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
 * Strides > 1 (the forward conv skipped positions, so dy would need zeros
 * inserted) and explicit paddings that would need negative padding here are
 * delegated to the stock kernel, whose setupFunc this config forwards.
 */
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertFloat32, disposeInfo, runWasmKernel, shape4 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'Conv2DBackpropInput';

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
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return fallback('strides > 1');
    const [, inH, inW] = inputShape;
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
