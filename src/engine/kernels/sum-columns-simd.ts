/**
 * Column sums of a row-major [rows, C] float32 matrix, as a WebAssembly SIMD
 * function over the wasm backend's heap (assembled by ./wasm-simd-module.ts):
 * a bias gradient, dy summed over every axis but the channels.
 *
 * Each channel is summed in float32, row after row, starting from 0: the
 * order and precision of the stock wasm Sum kernel after it transposes the
 * channels first (a sequential `sum += x` in C++), so the results are the
 * same bits, without the transpose's copy of the whole tensor. Four
 * channels per instruction; the running sums of the full groups of four live
 * in `out` (which stays in the L1 cache), and with C % 4 != 0 the last four
 * channels are also summed in a register and stored last (the lanes they
 * share with the full groups get the same values again, summed in the same
 * order). Needs C >= 4.
 */
import { f32, get, I32, i32, OP, set, simd, SIMD, simdKernel, V128, v128Load, v128Store } from './wasm-simd-module.js';

/** `sumColumns(x, out, rows, channels)`: heap byte addresses; writes `channels` floats at `out`. */
export type SumColumnsSimd = (x: number, out: number, rows: number, channels: number) => void;

// Parameters (i32).
const X = 0, OUT = 1, ROWS = 2, C = 3;
// i32 locals: row bytes, bytes of the full groups, row address, end of x, byte within the row; v128: the tail's sum, 0.
const ROW = 4, FULL = 5, P = 6, END = 7, G = 8, TAIL = 9, ZERO = 10;

const add = simd(SIMD.f32x4Add);

/** Loops `body` over G = 0, 16, ... < FULL. */
const overFullGroups = (body: number[]) => [
  ...i32(0), ...set(G),
  OP.block, 0x40,
  OP.loop, 0x40,
  ...get(G), ...get(FULL), OP.i32GeU, OP.brIf, 1,
  ...body,
  ...get(G), ...i32(16), OP.i32Add, ...set(G),
  OP.br, 0,
  OP.end,
  OP.end,
];

/** The column sum bound to a backend memory, or null without wasm SIMD. */
export const sumColumnsSimdFor = simdKernel<SumColumnsSimd>({
  name: 'sumColumns',
  params: Array<number>(4).fill(I32),
  locals: [[5, I32], [2, V128]],
  code: [
    ...get(C), ...i32(2), OP.i32Shl, ...set(ROW),
    ...get(C), ...i32(2), OP.i32ShrU, ...i32(4), OP.i32Shl, ...set(FULL),
    ...f32(0), ...simd(SIMD.f32x4Splat), ...set(ZERO),
    ...get(ZERO), ...set(TAIL),
    ...overFullGroups([...get(OUT), ...get(G), OP.i32Add, ...get(ZERO), ...v128Store()]),
    ...get(X), ...set(P),
    ...get(X), ...get(ROWS), ...get(ROW), OP.i32Mul, OP.i32Add, ...set(END),
    OP.block, 0x40,
    OP.loop, 0x40, // over rows
    ...get(P), ...get(END), OP.i32GeU, OP.brIf, 1,
    // out[g] += x[row, g] for the full groups
    ...overFullGroups([
      ...get(OUT), ...get(G), OP.i32Add,
      ...get(OUT), ...get(G), OP.i32Add, ...v128Load(),
      ...get(P), ...get(G), OP.i32Add, ...v128Load(),
      ...add, ...v128Store(),
    ]),
    // the last four channels, when they are not a full group
    ...get(ROW), ...get(FULL), OP.i32Ne,
    OP.if, 0x40,
    ...get(TAIL), ...get(P), ...get(ROW), OP.i32Add, ...i32(16), OP.i32Sub, ...v128Load(), ...add, ...set(TAIL),
    OP.end,
    ...get(P), ...get(ROW), OP.i32Add, ...set(P),
    OP.br, 0,
    OP.end,
    OP.end,
    ...get(ROW), ...get(FULL), OP.i32Ne,
    OP.if, 0x40,
    ...get(OUT), ...get(ROW), OP.i32Add, ...i32(16), OP.i32Sub, ...get(TAIL), ...v128Store(),
    OP.end,
  ],
});
