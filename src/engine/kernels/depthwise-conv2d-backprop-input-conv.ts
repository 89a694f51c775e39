/**
 * DepthwiseConv2dNativeBackpropInput as a forward depthwise conv on XNNPACK,
 * for channel multiplier 1 without dilation (every MobileNet depthwise layer).
 *
 * The input gradient of a depthwise conv is the same depthwise conv run
 * backwards: with the filter flipped in both spatial axes, dy (zeros
 * inserted between its rows and columns when the stride is s > 1, so it is
 * laid out at the stride of x) convolved at stride 1 with padding
 * (KH-1-top, KW-1-left) before and whatever makes the output inH x inW
 * after, gives dx. The stock DepthwiseConv2dNative kernel (XNNPACK) runs that
 * several times faster than the scalar scatter loop of
 * depthwise-conv2d-backprop-input.ts, whose time was 10% of a MobileNetV2
 * step's kernel time (bench/results/profile-mobilenet-before.md).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs';
import { disposeInfo, runWasmKernel } from './wasm-kernel-utils.js';
import type { Shape4, Tf } from './wasm-kernel-utils.js';

type Conv2DInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

/**
 * dx, or undefined when this route does not apply (channel multiplier > 1,
 * dilation, or padding that would have to be negative): the caller then
 * runs the general loop.
 */
export function depthwiseBackpropInputByConv(
  tf: Tf,
  wasm: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
): TensorInfo | undefined {
  const { batchSize: batch, inHeight: inH, inWidth: inW, inChannels: channels, outHeight: outH, outWidth: outW } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (info.outChannels !== channels || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const spreadH = (outH - 1) * sh + 1;
  const spreadW = (outW - 1) * sw + 1;
  const bottom = inH + kh - 1 - spreadH - top;
  const right = inW + kw - 1 - spreadW - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;

  // Allocate everything before taking views: malloc may grow the heap, which detaches views.
  const flipped = wasm.makeOutput([kh, kw, channels, 1], 'float32');
  const spread = sh === 1 && sw === 1 ? dy : wasm.makeOutput([batch, spreadH, spreadW, channels], 'float32');
  const w = wasm.typedArrayFromHeap(filter) as Float32Array;
  const wf = wasm.typedArrayFromHeap(flipped) as Float32Array;
  for (let fy = 0; fy < kh; fy++) {
    for (let fx = 0; fx < kw; fx++) {
      const from = (fy * kw + fx) * channels;
      wf.set(w.subarray(from, from + channels), ((kh - 1 - fy) * kw + (kw - 1 - fx)) * channels);
    }
  }
  if (spread !== dy) {
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const s = wasm.typedArrayFromHeap(spread) as Float32Array;
    s.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const from = ((b * outH + oy) * outW + ox) * channels;
          s.set(g.subarray(from, from + channels), ((b * spreadH + oy * sh) * spreadW + ox * sw) * channels);
        }
      }
    }
  }
  const shape: Shape4 = [batch, spreadH, spreadW, channels];
  const dx = runWasmKernel(tf, wasm, 'DepthwiseConv2dNative', { x: { ...spread, shape }, filter: flipped }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
  });
  disposeInfo(wasm, flipped);
  if (spread !== dy) disposeInfo(wasm, spread);
  return dx;
}
