/**
 * im2colColumns (./im2col.ts) for one-channel, width-stride-1 convolutions
 * whose every window lies inside the image (LeNet-5's conv1: 28x28x1, 5x5,
 * 'valid'), as a WebAssembly SIMD copy over the wasm backend's heap
 * (assembled by ./wasm-simd-module.ts).
 *
 * Why: there every row of the transposed patch matrix is outW contiguous
 * floats of the image, so the matrix is ~38k short memcpys; the JavaScript
 * loop copied them a float at a time (~1.5 ms of the ~4 ms filter gradient).
 * Here they are copied four floats per instruction (then one at a time for
 * the last outW % 4). A copy: the same bits. LeNet-5's conv1 filter
 * gradient (im2col + matmul): 3.17 -> 1.53 ms (medians of 40 interleaved
 * calls, load ~4.8 on 2 cores).
 */
import { forLoop, get, I32, i32, OP, set, simdKernel, v128Load, v128Store } from './wasm-simd-module.js';

/**
 * `im2colValid1(x, out, kSpan, inRow, kwBytes, total, image, rowSpan, rowStep, run, run16)`,
 * all bytes: x and out heap addresses; kSpan = kh * inRow (inRow = inW * 4);
 * kwBytes = kw * 4; total = batch * image (image = inH * inRow); rowSpan =
 * outH * rowStep (rowStep = strideH * inRow); run = outW * 4, run16 = run
 * rounded down to a multiple of 16.
 */
export type Im2colValid1Simd = (
  x: number, out: number, kSpan: number, inRow: number, kwBytes: number, total: number,
  image: number, rowSpan: number, rowStep: number, run: number, run16: number,
) => void;

// Parameters (i32).
const X = 0, OUT = 1, KSPAN = 2, INROW = 3, KW = 4, TOTAL = 5, IMAGE = 6, ROWSPAN = 7, ROWSTEP = 8, RUN = 9, RUN16 = 10;
// i32 locals: byte offsets of the window row, window column, image, output row, float in the run; the source row's address; the output's.
const Y = 11, XK = 12, N = 13, OH = 14, J = 15, SRC = 16, DST = 17;

const zero = i32(0);
const srcAt = [...get(SRC), ...get(J), OP.i32Add];
const dstAt = [...get(DST), ...get(J), OP.i32Add];

/** The one-channel valid-window im2col bound to a backend memory, or null without wasm SIMD. */
export const im2colValid1SimdFor = simdKernel<Im2colValid1Simd>({
  name: 'im2colValid1',
  params: Array<number>(11).fill(I32),
  locals: [[7, I32]],
  code: [
    ...get(OUT), ...set(DST),
    ...forLoop(Y, zero, get(KSPAN), get(INROW),
      forLoop(XK, zero, get(KW), i32(4),
        forLoop(N, zero, get(TOTAL), get(IMAGE),
          forLoop(OH, zero, get(ROWSPAN), get(ROWSTEP), [
            ...get(X), ...get(Y), OP.i32Add, ...get(XK), OP.i32Add, ...get(N), OP.i32Add, ...get(OH), OP.i32Add, ...set(SRC),
            ...forLoop(J, zero, get(RUN16), i32(16), [...dstAt, ...srcAt, ...v128Load(), ...v128Store()]),
            ...forLoop(J, get(RUN16), get(RUN), i32(4), [...dstAt, ...srcAt, OP.f32Load, 2, 0, OP.f32Store, 2, 0]),
            ...get(DST), ...get(RUN), OP.i32Add, ...set(DST),
          ])))),
  ],
});
