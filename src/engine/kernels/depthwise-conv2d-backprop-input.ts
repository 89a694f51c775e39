/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend: the gradient of a
 * depthwise conv2d with respect to its input, which every depthwise layer
 * after the first needs to pass the gradient on. tfjs-backend-wasm 4.22 does
 * not register it ("Kernel 'DepthwiseConv2dNativeBackpropInput' not
 * registered for backend 'wasm'").
 *
 * For NHWC dy [N,OH,OW,C*M], filter W [KH,KW,C,M], stride s, dilation d,
 * padding (pt, pl), every output position scatters into the input window it
 * read:
 *
 *   dx[n, oh*s + kh*d - pt, ow*s + kw*d - pl, c] += sum_m dy[n,oh,ow,c*M+m] * W[kh,kw,c,m]
 *
 * Channel multiplier 1 without dilation (every MobileNet depthwise layer)
 * runs as a forward XNNPACK depthwise conv with the filter flipped
 * (depthwise-conv2d-backprop-input-conv.ts). Everything else is this
 * scatter: a tight loop over Float32Array views of the wasm heap (no
 * copies), channel-innermost, for every stride, padding and multiplier.
 */
import type { DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { depthwiseBackpropInputByConv } from './depthwise-conv2d-backprop-input-conv.js';
import { assertFloat32, shape4 } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'DepthwiseConv2dNativeBackpropInput';

/** Creates the KernelConfig; `tf` is passed in so this module loads without tfjs. */
export function depthwiseConv2dBackpropInputKernel(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } =
      attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
    assertFloat32(NAME, 'dy', dy);
    assertFloat32(NAME, 'filter', filter);
    const filterShape = shape4(NAME, 'filter', filter);
    const [kh, kw, channels, mult] = filterShape;
    const [batch, inH, inW, inC] = inputShape;
    const [, outH, outW, outC] = shape4(NAME, 'dy', dy);
    if (inC !== channels || outC !== channels * mult) {
      throw new Error(
        `${NAME}: inputShape has ${inC} channels and dy ${outC}, filter [${filterShape.join(', ')}] expects ${channels} and ${channels * mult}`,
      );
    }
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'channelsLast',
    );
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const dh = info.dilationHeight;
    const dw = info.dilationWidth;
    const viaConv = depthwiseBackpropInputByConv(tf, wasm, dy, filter, info);
    if (viaConv !== undefined) return viaConv;
    const top = info.padInfo.top;
    const left = info.padInfo.left;

    // Allocate first: malloc may grow the wasm memory, which detaches views.
    const dx = wasm.makeOutput([batch, inH, inW, inC], 'float32');
    const out = wasm.typedArrayFromHeap(dx) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const w = wasm.typedArrayFromHeap(filter) as Float32Array;
    out.fill(0);
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
              const wBase = (fy * kw + fx) * outC;
              if (mult === 1) {
                for (let c = 0; c < channels; c++) out[xBase + c] = out[xBase + c]! + g[gBase + c]! * w[wBase + c]!;
              } else {
                for (let c = 0; c < channels; c++) {
                  const o = c * mult;
                  let s = 0;
                  for (let m = 0; m < mult; m++) s += g[gBase + o + m]! * w[wBase + o + m]!;
                  out[xBase + c] = out[xBase + c]! + s;
                }
              }
            }
          }
        }
      }
    }
    return dx;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc };
}
