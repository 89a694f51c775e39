/**
 * The Adam update of ./adam-update.ts as a WebAssembly SIMD function over the
 * wasm backend's heap (assembled by ./wasm-simd-module.ts), four floats per
 * instruction.
 *
 * Why not the JavaScript loop alone: a scalar loop that rounds every
 * operation to float32 (Math.fround) runs at ~9 ns per element, ~4 ms for
 * LeNet-5's 431k weights, slower than the 14 XNNPACK kernels it replaces
 * (~3 ms); f32x4 arithmetic is float32 arithmetic, four lanes at a time,
 * with no rounding steps to spell out. The wasm SIMD operations used here
 * (mul, add, div, sqrt on f32x4) are IEEE 754 single precision, correctly
 * rounded, so the results are the same bits as the scalar loop's and
 * tf.train.adam's.
 */
import { F32, get, I32, i32, OP, set, simd, SIMD, simdKernel, V128, v128Load, v128Store } from './wasm-simd-module.js';

/**
 * `adam(x, m, v, g, xOut, mOut, vOut, n, beta1, beta2, 1-beta1, 1-beta2, 1-beta1^t, 1-beta2^t, epsilon, -lr)`:
 * heap byte addresses, `n` floats (a multiple of 4), float32 scalars.
 */
export type AdamSimd = (
  x: number, m: number, v: number, g: number, xOut: number, mOut: number, vOut: number, n: number,
  beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
  oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number, negLearningRate: number,
) => void;

// Parameters 0-7 (i32): x m v g xOut mOut vOut n; 8-15 (f32): the scalars, in the order above.
const X = 0, M = 1, V = 2, G = 3, XO = 4, MO = 5, VO = 6, N = 7;
// Locals: 16-17 (i32) byte offset and end; 18-25 (v128) the scalars splatted, same order; 26-28 (v128) g, m', v'.
const I = 16, END = 17, SPLAT = 18, GI = 26, MI = 27, VI = 28;
const B1 = SPLAT, B2 = SPLAT + 1, C1 = SPLAT + 2, C2 = SPLAT + 3, D1 = SPLAT + 4, D2 = SPLAT + 5, EPS = SPLAT + 6, NLR = SPLAT + 7;

const at = (base: number) => [...get(base), ...get(I), OP.i32Add];
const load = (base: number) => [...at(base), ...v128Load()];
const mul = simd(SIMD.f32x4Mul);
const add = simd(SIMD.f32x4Add);
const div = simd(SIMD.f32x4Div);

/** The Adam update bound to a backend memory, or null without wasm SIMD. */
export const adamSimdFor = simdKernel<AdamSimd>({
  name: 'adam',
  params: [...Array<number>(8).fill(I32), ...Array<number>(8).fill(F32)],
  locals: [[2, I32], [11, V128]],
  code: [
    ...get(N), ...i32(2), OP.i32Shl, ...set(END),
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...get(8 + k), ...simd(SIMD.f32x4Splat), ...set(SPLAT + k)]),
    OP.block, 0x40,
    OP.loop, 0x40,
    ...get(I), ...get(END), OP.i32GeU, OP.brIf, 1,
    ...load(G), ...set(GI),
    // m' = m * beta1 + g * (1 - beta1)
    ...load(M), ...get(B1), ...mul, ...get(GI), ...get(C1), ...mul, ...add, ...set(MI),
    // v' = v * beta2 + (g * g) * (1 - beta2)
    ...load(V), ...get(B2), ...mul, ...get(GI), ...get(GI), ...mul, ...get(C2), ...mul, ...add, ...set(VI),
    ...at(MO), ...get(MI), ...v128Store(),
    ...at(VO), ...get(VI), ...v128Store(),
    // x' = ((m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon)) * -lr + x
    ...at(XO),
    ...get(MI), ...get(D1), ...div,
    ...get(VI), ...get(D2), ...div, ...simd(SIMD.f32x4Sqrt), ...get(EPS), ...add,
    ...div, ...get(NLR), ...mul,
    ...load(X), ...add,
    ...v128Store(),
    ...get(I), ...i32(16), OP.i32Add, ...set(I),
    OP.br, 0,
    OP.end,
    OP.end,
  ],
});
