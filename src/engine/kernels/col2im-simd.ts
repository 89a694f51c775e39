/**
 * col2im (./im2col.ts `col2imRows`) for convolutions whose every window lies
 * inside the image ('valid' padding, any stride), as a WebAssembly SIMD
 * function over the wasm backend's heap (assembled by ./wasm-simd-module.ts).
 *
 * Why: the scatter-add of LeNet-5's conv2 input gradient (2M floats of
 * patch rows into a [64,12,12,20] image) took ~3.2 ms in JavaScript, a third
 * of that kernel. Each window row is kw*Ci contiguous floats of dx, so it is
 * added four floats per instruction (then one at a time for the last
 * kw*Ci % 4), visiting patches, window rows and floats in the same order as
 * the scalar loop: every dx element receives the same float32 additions in
 * the same order, so the results are the same bits. LeNet-5's conv2 input
 * gradient (matmul + col2im): 8.79 -> 6.07 ms (medians of 40 interleaved
 * calls, load ~4 on 2 cores).
 */
import { forLoop, get, I32, i32, OP, set, simd, SIMD, simdKernel, v128Load, v128Store } from './wasm-simd-module.js';

/**
 * `col2imValid(cols, dx, total, image, rowSpan, rowStep, colSpan, colStep, kSpan, inRow, run, run16)`,
 * all bytes: cols and dx heap addresses; total = batch * image (one image of
 * dx); rowSpan = outH * rowStep (rowStep = strideH * inRow); colSpan = outW *
 * colStep (colStep = strideW * Ci * 4); kSpan = kh * inRow (inRow = inW * Ci * 4);
 * run = kw * Ci * 4; run16 = run rounded down to a multiple of 16.
 */
export type Col2imValidSimd = (
  cols: number, dx: number, total: number, image: number, rowSpan: number, rowStep: number,
  colSpan: number, colStep: number, kSpan: number, inRow: number, run: number, run16: number,
) => void;

// Parameters (i32).
const COLS = 0, DX = 1, TOTAL = 2, IMAGE = 3, ROWSPAN = 4, ROWSTEP = 5, COLSPAN = 6, COLSTEP = 7, KSPAN = 8, INROW = 9, RUN = 10, RUN16 = 11;
// i32 locals: byte offsets of the image, output row, output column, window row, float in the run; the patch row's address; the window row's address.
const N = 12, OH = 13, OW = 14, Y = 15, J = 16, SRC = 17, DST = 18;

const zero = i32(0);
const dstAt = [...get(DST), ...get(J), OP.i32Add];
const srcAt = [...get(SRC), ...get(J), OP.i32Add];

/** The valid-window col2im bound to a backend memory, or null without wasm SIMD. */
export const col2imValidSimdFor = simdKernel<Col2imValidSimd>({
  name: 'col2imValid',
  params: Array<number>(12).fill(I32),
  locals: [[7, I32]],
  code: [
    ...get(COLS), ...set(SRC),
    ...forLoop(N, zero, get(TOTAL), get(IMAGE),
      forLoop(OH, zero, get(ROWSPAN), get(ROWSTEP),
        forLoop(OW, zero, get(COLSPAN), get(COLSTEP),
          forLoop(Y, zero, get(KSPAN), get(INROW), [
            ...get(DX), ...get(N), OP.i32Add, ...get(OH), OP.i32Add, ...get(OW), OP.i32Add, ...get(Y), OP.i32Add, ...set(DST),
            ...forLoop(J, zero, get(RUN16), i32(16), [
              ...dstAt, ...dstAt, ...v128Load(), ...srcAt, ...v128Load(), ...simd(SIMD.f32x4Add), ...v128Store(),
            ]),
            ...forLoop(J, get(RUN16), get(RUN), i32(4), [
              ...dstAt, ...dstAt, OP.f32Load, 2, 0, ...srcAt, OP.f32Load, 2, 0, OP.f32Add, OP.f32Store, 2, 0,
            ]),
            ...get(SRC), ...get(RUN), OP.i32Add, ...set(SRC),
          ])))),
  ],
});
