/**
 * MaxPoolGrad for the wasm backend, replacing the stock one.
 *
 * tfjs-backend-wasm 4.22 registers MaxPoolGrad, but its C++ argmax starts the
 * running maximum at `std::numeric_limits<float>::min()`, the smallest
 * *positive* float, not the lowest one. A pooling window whose values are all
 * <= 0 therefore never updates its argmax: its gradient goes to flat offset 0
 * (or nowhere). Any layer that can feed negatives into max pooling (batch
 * normalisation, tanh, linear conv) trains on wrong gradients; e.g. a 2x2/2
 * pool over a [2,8,8,3] normal input is off by up to 1.9 against cpu.
 *
 * There is no vectorised wasm route to a first-occurrence argmax (the stock
 * MaxPoolWithArgmax has the same bug), so this is the cpu backend's algorithm
 * run over Float32Array views of the wasm heap, without copies: per output
 * pixel, one pass over the window keeps the first maximum per channel
 * (strictly greater, like cpu, so ties and NaNs behave the same), then dy is
 * scatter-added to that position. Cost is O(output * window); the window
 * scan is branchy (data-dependent compares), so it stays a visible share of a
 * LeNet-5 step (bench/results/profile-lenet5-conv.md). 2x2 windows with
 * stride 2 that tile the input exactly (the usual pool) take a branch-free
 * wasm SIMD version of the same rule instead (./max-pool-grad-simd.ts).
 */
import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { maxPoolGrad2x2SimdFor } from './max-pool-grad-simd.js';
import { assertFloat32, shape4 } from './wasm-kernel-utils.js';
import { backendMemory } from './wasm-simd-module.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'MaxPoolGrad';

/** Creates the KernelConfig; `tf` is passed in so this module loads without tfjs. */
export function maxPoolGradKernel(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
    assertFloat32(NAME, 'input', input);
    assertFloat32(NAME, 'dy', dy);
    const xShape = shape4(NAME, 'input', input);
    const info = tf.backend_util.computePool2DInfo(xShape, filterSize, strides, 1, pad, dimRoundingMode);
    const [batch, inH, inW, channels] = xShape;
    const [, outH, outW] = shape4(NAME, 'dy', dy);

    // Allocate first: malloc may grow the wasm memory, which detaches views.
    const dx = wasm.makeOutput(xShape, 'float32');
    const x = wasm.typedArrayFromHeap(input) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const out = wasm.typedArrayFromHeap(dx) as Float32Array;
    const fh = info.effectiveFilterHeight;
    const fw = info.effectiveFilterWidth;

    const tiles2x2 =
      fh === 2 && fw === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
      info.padInfo.top === 0 && info.padInfo.left === 0 && inH === 2 * outH && inW === 2 * outW && channels >= 4;
    const memory = tiles2x2 ? backendMemory(wasm.wasm) : undefined;
    const simd = memory ? maxPoolGrad2x2SimdFor(memory) : null;
    if (simd) {
      simd(x.byteOffset, g.byteOffset, out.byteOffset, batch * outH, outW, channels);
      return dx;
    }

    out.fill(0);
    const rowStride = inW * channels;
    for (let b = 0; b < batch; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const y0 = oy * info.strideHeight - info.padInfo.top;
        const yMin = Math.max(0, y0);
        const yMax = Math.min(inH, y0 + fh);
        for (let ox = 0; ox < outW; ox++) {
          const x0 = ox * info.strideWidth - info.padInfo.left;
          const xMin = Math.max(0, x0);
          const xMax = Math.min(inW, x0 + fw);
          const corner = ((b * inH + yMin) * inW + xMin) * channels;
          const dyBase = ((b * outH + oy) * outW + ox) * channels;
          // Channel-outer with the running maximum in locals, which V8 keeps
          // in registers; per-channel scratch arrays (the previous version)
          // cost a load and a store per compare and two fills per pixel:
          // LeNet-5's 64x24x24x20 pool went from ~13 to ~8 ms (min of 20,
          // loaded machine). Same scan order, so the same positions win.
          for (let c = 0; c < channels; c++) {
            let best = Number.NEGATIVE_INFINITY;
            let at = -1;
            for (let yy = yMin, row = corner + c; yy < yMax; yy++, row += rowStride) {
              for (let xx = xMin, i = row; xx < xMax; xx++, i += channels) {
                const v = x[i]!;
                if (v > best) {
                  best = v;
                  at = i;
                }
              }
            }
            if (at >= 0) out[at] = out[at]! + g[dyBase + c]!;
          }
        }
      }
    }
    return dx;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc };
}
