/**
 * The max-pool gradient of ./max-pool-grad.ts for the common case of 2x2
 * windows with stride 2 that tile the input exactly (LeNet-5's and most
 * CNNs' pools), as a WebAssembly SIMD function over the wasm backend's heap
 * (assembled by ./wasm-simd-module.ts), four channels per instruction.
 *
 * Why: the scalar scan's compares are data-dependent branches that the CPU
 * mispredicts about half the time; LeNet-5's 64x24x24x20 pool gradient took
 * ~4 ms of a ~55 ms step. Here the first-maximum rule is computed with lane
 * masks instead, branch-free:
 *
 *   best = -inf; c_i = a_i > best; best = c_i ? a_i : best   (i = 0..3, scan order)
 *   the winner is the last i whose c_i is set: s3 = c3, s2 = c2 & ~c3, ...
 *
 * which is exactly the scalar rule (strictly greater, so ties go to the
 * first maximum; NaN never wins; a window of only NaN/-inf sends its
 * gradient nowhere). Since the windows tile the input, every dx element is
 * written once (dy where it won, else 0), with no zero fill and no
 * scatter-add; dy + 0 is stored rather than dy so a -0 comes out as the
 * scalar kernel's 0 + -0 = +0, the same bits.
 *
 * Channel groups are 4 wide; with C % 4 != 0 the last group is the last 4
 * channels, overlapping the one before (recomputing a channel rewrites the
 * same value). Needs C >= 4.
 */
import { f32, get, I32, i32, OP, set, simd, SIMD, simdKernel, V128, v128Load, v128Store } from './wasm-simd-module.js';

/** `maxPoolGrad2x2(x, dy, dx, rows, outW, channels)`: heap byte addresses; rows = batch * outH; x and dx are [rows*2, outW*2, channels]. */
export type MaxPoolGrad2x2Simd = (x: number, dy: number, dx: number, rows: number, outW: number, channels: number) => void;

// Parameters (i32).
const X = 0, DY = 1, DX = 2, ROWS = 3, OUTW = 4, C = 5;
// i32 locals: pixel bytes, input row bytes, pixel counter, pixel count, ox, x/dx byte offset, dy byte offset, channel byte, its clamped value, last group's byte, address/temp.
const PIX = 6, INROW = 7, K = 8, TOTAL = 9, OX = 10, OFF = 11, DOFF = 12, CB = 13, CC = 14, CEND = 15, P = 16;
// v128 locals: the window's four values, the running maximum, the four "greater" masks, dy + 0, -inf, 0.
const A0 = 17, A1 = 18, A2 = 19, A3 = 20, BEST = 21, M0 = 22, M1 = 23, M2 = 24, M3 = 25, GV = 26, NINF = 27, ZERO = 28;

const s = (op: number) => simd(op);
/** Window position i's address: P (p0) + [0, pix, inRow, inRow + pix][i]. */
const addr = (i: number) => [...get(P), ...(i & 1 ? [...get(PIX), OP.i32Add] : []), ...(i & 2 ? [...get(INROW), OP.i32Add] : [])];
/** c_i = a_i > best; best = c_i ? a_i : best. */
const scan = (a: number, m: number, last: boolean) => [
  ...get(a), ...get(BEST), ...s(SIMD.f32x4Gt), ...set(m),
  ...(last ? [] : [...get(a), ...get(BEST), ...get(m), ...s(SIMD.v128Bitselect), ...set(BEST)]),
];
/** dx at window position i = (dy + 0) & (c_i & ~c_j for every later j). */
const store = (i: number) => {
  const masks = [M0, M1, M2, M3];
  const later = masks.slice(i + 1);
  return [
    ...addr(i),
    ...get(GV), ...get(masks[i]!), ...later.flatMap((m) => [...get(m), ...s(SIMD.v128AndNot)]), ...s(SIMD.v128And),
    ...v128Store(),
  ];
};

/** The 2x2/2 max-pool gradient bound to a backend memory, or null without wasm SIMD. */
export const maxPoolGrad2x2SimdFor = simdKernel<MaxPoolGrad2x2Simd>({
  name: 'maxPoolGrad2x2',
  params: Array<number>(6).fill(I32),
  locals: [[11, I32], [12, V128]],
  code: [
    ...get(C), ...i32(2), OP.i32Shl, ...set(PIX),
    ...get(OUTW), ...get(PIX), OP.i32Mul, ...i32(1), OP.i32Shl, ...set(INROW),
    ...get(ROWS), ...get(OUTW), OP.i32Mul, ...set(TOTAL),
    ...get(PIX), ...i32(16), OP.i32Sub, ...set(CEND),
    ...f32(-Infinity), ...s(SIMD.f32x4Splat), ...set(NINF),
    ...f32(0), ...s(SIMD.f32x4Splat), ...set(ZERO),
    OP.block, 0x40,
    OP.loop, 0x40, // over output pixels
    ...get(K), ...get(TOTAL), OP.i32GeU, OP.brIf, 1,
    ...i32(0), ...set(CB),
    OP.block, 0x40,
    OP.loop, 0x40, // over groups of 4 channels
    ...get(CB), ...get(PIX), OP.i32GeU, OP.brIf, 1,
    // cc = min(c, pix - 16): the last group ends at the last channel.
    ...get(CEND), ...get(CB), ...get(CB), ...get(CEND), OP.i32GtS, OP.select, ...set(CC),
    ...get(X), ...get(OFF), OP.i32Add, ...get(CC), OP.i32Add, ...set(P),
    ...addr(0), ...v128Load(), ...set(A0),
    ...addr(1), ...v128Load(), ...set(A1),
    ...addr(2), ...v128Load(), ...set(A2),
    ...addr(3), ...v128Load(), ...set(A3),
    ...get(NINF), ...set(BEST),
    ...scan(A0, M0, false), ...scan(A1, M1, false), ...scan(A2, M2, false), ...scan(A3, M3, true),
    ...get(DY), ...get(DOFF), OP.i32Add, ...get(CC), OP.i32Add, ...v128Load(), ...get(ZERO), ...s(SIMD.f32x4Add), ...set(GV),
    ...get(DX), ...get(OFF), OP.i32Add, ...get(CC), OP.i32Add, ...set(P),
    ...store(0), ...store(1), ...store(2), ...store(3),
    ...get(CB), ...i32(16), OP.i32Add, ...set(CB),
    OP.br, 0,
    OP.end,
    OP.end,
    // Next window: 2 pixels right in x/dx, 1 in dy; after a row's last window, skip the row pair's second row.
    ...get(OFF), ...get(PIX), ...i32(1), OP.i32Shl, OP.i32Add, ...set(OFF),
    ...get(DOFF), ...get(PIX), OP.i32Add, ...set(DOFF),
    ...get(K), ...i32(1), OP.i32Add, ...set(K),
    ...get(OX), ...i32(1), OP.i32Add, ...set(OX),
    ...get(OX), ...get(OUTW), OP.i32Eq, ...set(P),
    ...get(OFF), ...get(P), ...get(INROW), OP.i32Mul, OP.i32Add, ...set(OFF),
    ...i32(0), ...get(OX), ...get(P), OP.select, ...set(OX),
    OP.br, 0,
    OP.end,
    OP.end,
  ],
});
