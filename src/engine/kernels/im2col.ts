/**
 * im2col: the patches a 2-D convolution reads, laid out as a matrix, so a
 * convolution's filter gradient becomes one matrix product on XNNPACK's fast
 * path.
 *
 * Why: the filter gradient as a convolution with batch and channels swapped
 * (conv2d-backprop-filter.ts) is slow when the input has few channels: for
 * LeNet-5's conv1 (5x5, 1 -> 20, batch 64) it is a convolution with ONE
 * output-batch row, 25 output pixels and a 24x24x64 window, 8.6 ms (min of
 * 40), where patches^T[25, 36864] x dy[36864, 20] plus the copy takes 3.5 ms.
 * The copy costs K = KH*KW*Ci floats per output pixel, which is cheap
 * exactly when Ci is small (see {@link im2colPays}).
 *
 * For NHWC input x [N,H,W,Ci] and a KHxKW window with stride (sh, sw),
 * dilation 1 and padding (top, left), patch m = (n, oh, ow) holds, at
 * k = (kh, kw, ci) (the order of a [KH,KW,Ci,Co] filter's rows),
 *
 *   x[n, oh*sh + kh - top, ow*sw + kw - left, ci]   (0 outside the image).
 *
 * Pure functions over Float32Arrays (in practice views of the wasm heap).
 */

/** Where each patch comes from. */
export interface PatchGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  kh: number;
  kw: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** Whether every window of `g` lies inside the image (no padding read): what the SIMD col2im and im2col handle. */
export function windowsInside(g: PatchGeometry): boolean {
  return g.padTop === 0 && g.padLeft === 0 && (g.outH - 1) * g.strideH + g.kh <= g.inH && (g.outW - 1) * g.strideW + g.kw <= g.inW;
}

/**
 * Largest input channel count for which the im2col route is taken. Measured
 * (min of 40 interleaved calls, batch 64, 5x5 -> 20 filters, loaded machine):
 * 1 channel 28x28: 3.5 vs 8.6 ms; 3 channels 32x32: 21.6 vs 22.8 ms; 4
 * channels 16x16: 3.3 vs 3.0 ms; and with 20 channels (LeNet-5's conv2) the
 * product alone, [500, 4096] x [4096, 50], was no faster than the whole
 * swapped convolution. Only the clear win is taken: more channels stay on
 * the convolution, which also needs no patch copy in the heap.
 */
export const IM2COL_MAX_CHANNELS = 1;

/**
 * Largest patch matrix (bytes) built: beyond it the copy would double a big
 * activation's footprint in a wasm heap capped at 4 GiB, for little gain.
 */
export const IM2COL_MAX_BYTES = 64 * 1024 * 1024;

/** Whether the im2col route is worth taking for this geometry (few channels, bounded copy). */
export function im2colPays(g: PatchGeometry): boolean {
  const bytes = 4 * g.batch * g.outH * g.outW * g.kh * g.kw * g.channels;
  return g.channels <= IM2COL_MAX_CHANNELS && bytes <= IM2COL_MAX_BYTES;
}

/** Rows of the patch matrix: one per output pixel, K = kh*kw*channels columns. */
export function patchRows(g: PatchGeometry): number {
  return g.batch * g.outH * g.outW;
}

/** Columns of the patch matrix (the filter's rows). */
export function patchColumns(g: PatchGeometry): number {
  return g.kh * g.kw * g.channels;
}

/**
 * Writes the transposed patch matrix, [patchColumns, patchRows]: the left
 * operand of the filter gradient patches^T x dy[N*OH*OW, Co] = dW[K, Co],
 * laid out so the product needs no transpose (XNNPACK's fast path).
 */
export function im2colColumns(x: Float32Array, g: PatchGeometry, out: Float32Array): void {
  const { inH, inW, channels: c, outW, strideW: sw } = g;
  let o = 0;
  for (let y = 0; y < g.kh; y++) {
    for (let xk = 0; xk < g.kw; xk++) {
      // Output columns whose input column iw = ow*sw + xk - left is inside the image.
      const shift = xk - g.padLeft;
      const owMin = shift >= 0 ? 0 : Math.min(outW, Math.ceil(-shift / sw));
      const owEnd = Math.max(owMin, Math.min(outW, Math.floor((inW - 1 - shift) / sw) + 1));
      for (let ci = 0; ci < c; ci++) {
        for (let n = 0; n < g.batch; n++) {
          for (let oh = 0; oh < g.outH; oh++) {
            const ih = oh * g.strideH + y - g.padTop;
            if (ih < 0 || ih >= inH) {
              out.fill(0, o, o + outW);
              o += outW;
              continue;
            }
            const base = ((n * inH + ih) * inW + shift) * c + ci;
            let ow = 0;
            for (; ow < owMin; ow++) out[o++] = 0;
            for (let i = base + ow * sw * c, step = sw * c; ow < owEnd; ow++, i += step) out[o++] = x[i]!;
            for (; ow < outW; ow++) out[o++] = 0;
          }
        }
      }
    }
  }
}

/**
 * col2im, the adjoint of a row-major patch matrix: adds patch row m = (n, oh,
 * ow), column k = (kh, kw, ci) of `cols` [patchRows, patchColumns] into
 * dx[n, oh*sh + kh - top, ow*sw + kw - left, ci] (entries that fall in the
 * padding are dropped). `dx` [N,H,W,Ci] must be zeroed by the caller. This
 * is how the input gradient dy x filter^T becomes an image again.
 */
export function col2imRows(cols: Float32Array, g: PatchGeometry, dx: Float32Array): void {
  const { inH, inW, channels: c, kh, kw } = g;
  const run = kw * c;
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oh = 0; oh < g.outH; oh++) {
      const ih0 = oh * g.strideH - g.padTop;
      for (let ow = 0; ow < g.outW; ow++) {
        const iw0 = ow * g.strideW - g.padLeft;
        const inside = iw0 >= 0 && iw0 + kw <= inW;
        for (let y = 0; y < kh; y++, o += run) {
          const ih = ih0 + y;
          if (ih < 0 || ih >= inH) continue;
          const row = (n * inH + ih) * inW;
          if (inside) {
            // The window's row is kw*c contiguous floats of dx.
            for (let i = (row + iw0) * c, j = o, end = o + run; j < end; i++, j++) dx[i] = dx[i]! + cols[j]!;
            continue;
          }
          for (let xk = 0; xk < kw; xk++) {
            const iw = iw0 + xk;
            if (iw < 0 || iw >= inW) continue;
            for (let i = (row + iw) * c, j = o + xk * c, end = j + c; j < end; i++, j++) dx[i] = dx[i]! + cols[j]!;
          }
        }
      }
    }
  }
}
