/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend: the gradient of a
 * depthwise conv2d with respect to its filter. tfjs-backend-wasm 4.22 does
 * not register it, so every MobileNet-class model (DepthwiseConv2D layers)
 * fails to train on wasm with "Kernel 'DepthwiseConv2dNativeBackpropFilter'
 * not registered for backend 'wasm'".
 *
 * For NHWC x [N,H,W,C], dy [N,OH,OW,C*M] (M = channel multiplier), stride s,
 * dilation d, padding (pt, pl):
 *
 *   dW[kh,kw,c,m] = sum_{n,oh,ow} x[n, oh*s + kh*d - pt, ow*s + kw*d - pl, c] * dy[n,oh,ow,c*M+m]
 *
 * Unlike the dense conv (conv2d-backprop-filter.ts), this has no stock
 * XNNPACK route: with batch and channels swapped every channel would need its
 * own filter, which is neither a conv2d nor a depthwise conv the stock
 * kernels run. So it is a tight loop over Float32Array views of the wasm heap
 * (no copies), channel-innermost so reads are sequential, accumulating in
 * float64 like the cpu backend (dW is tiny, KH*KW*C*M; its sums run over
 * N*OH*OW terms, where float32 accumulation drifted past 1e-4 relative).
 * It costs the same multiply-adds as the forward depthwise conv, which is a
 * small share of a MobileNetV2 step next to the 1x1 convolutions.
 */
import type { DepthwiseConv2dNativeBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertFloat32, shape4 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

/** Creates the KernelConfig; `tf` is passed in so this module loads without tfjs. */
export function depthwiseConv2dBackpropFilterKernel(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } =
      attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
    assertFloat32(NAME, 'x', x);
    assertFloat32(NAME, 'dy', dy);
    const xShape = shape4(NAME, 'x', x);
    const [batch, inH, inW, channels] = xShape;
    const [, outH, outW, outC] = shape4(NAME, 'dy', dy);
    const [kh, kw, fc, mult] = filterShape;
    if (fc !== channels || outC !== channels * mult) {
      throw new Error(
        `${NAME}: x has ${channels} channels and dy ${outC}, filterShape [${filterShape.join(', ')}] expects ${fc} and ${fc * mult}`,
      );
    }
    const info = tf.backend_util.computeConv2DInfo(
      xShape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'channelsLast',
    );
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const dh = info.dilationHeight;
    const dw = info.dilationWidth;
    const top = info.padInfo.top;
    const left = info.padInfo.left;

    const acc = new Float64Array(kh * kw * outC);
    // Views are taken after every allocation of this call (none before the
    // output below): malloc may grow the wasm memory, which detaches views.
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    for (let b = 0; b < batch; b++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const gBase = ((b * outH + oy) * outW + ox) * outC;
          for (let fy = 0; fy < kh; fy++) {
            const iy = oy * sh + fy * dh - top;
            if (iy < 0 || iy >= inH) continue;
            for (let fx = 0; fx < kw; fx++) {
              const ix = ox * sw + fx * dw - left;
              if (ix < 0 || ix >= inW) continue;
              const xBase = ((b * inH + iy) * inW + ix) * channels;
              const aBase = (fy * kw + fx) * outC;
              if (mult === 1) {
                for (let c = 0; c < channels; c++) acc[aBase + c] = acc[aBase + c]! + xs[xBase + c]! * g[gBase + c]!;
              } else {
                for (let c = 0; c < channels; c++) {
                  const v = xs[xBase + c]!;
                  const o = c * mult;
                  for (let m = 0; m < mult; m++) acc[aBase + o + m] = acc[aBase + o + m]! + v * g[gBase + o + m]!;
                }
              }
            }
          }
        }
      }
    }
    const out = wasm.makeOutput([kh, kw, fc, mult], 'float32');
    (wasm.typedArrayFromHeap(out) as Float32Array).set(acc);
    return out;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc };
}
