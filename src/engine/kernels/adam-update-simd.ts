/**
 * The Adam update of ./adam-update.ts as a WebAssembly SIMD function that
 * runs over the wasm backend's own heap, four floats per instruction.
 *
 * Why not the JavaScript loop alone: a scalar loop that rounds every
 * operation to float32 (Math.fround) runs at ~9 ns per element, ~4 ms for
 * LeNet-5's 431k weights, slower than the 14 XNNPACK kernels it replaces
 * (~3 ms); f32x4 arithmetic is float32 arithmetic, four lanes at a time,
 * with no rounding steps to spell out. The wasm SIMD operations used here
 * (mul, add, div, sqrt on f32x4) are IEEE 754 single precision, correctly
 * rounded, so the results are the same bits as the scalar loop's and
 * tf.train.adam's.
 *
 * The module is a few hundred bytes assembled below (no toolchain in the
 * build: one function, its opcodes named). It imports the backend's
 * WebAssembly.Memory, so it reads and writes tensors where they are, by
 * heap address, and sees the memory grow.
 */

/** Opcodes used below (WebAssembly core and SIMD specifications). */
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Shl: 0x74,
  simd: 0xfd,
} as const;
/** SIMD sub-opcodes (after 0xfd, LEB128-encoded). */
const SIMD = { load: 0x00, store: 0x0b, f32x4Splat: 0x13, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Mul: 0xe6, f32x4Div: 0xe7 } as const;
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  const utf8 = new TextEncoder().encode(s);
  return [...uleb(utf8.length), ...utf8];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * The module: imports env.memory, exports
 * `adam(x, m, v, g, xOut, mOut, vOut, n, beta1, beta2, 1-beta1, 1-beta2, 1-beta1^t, 1-beta2^t, epsilon, -lr)`
 * with byte addresses and `n` a multiple of 4.
 */
function adamModuleBytes(): Uint8Array {
  // Parameters 0-7 (i32): x m v g xOut mOut vOut n; 8-15 (f32): the scalars, in the order above.
  const X = 0, M = 1, V = 2, G = 3, XO = 4, MO = 5, VO = 6, N = 7;
  // Locals: 16-17 (i32) byte offset and end; 18-25 (v128) the scalars splatted, same order; 26-28 (v128) g, m', v'.
  const I = 16, END = 17, SPLAT = 18, GI = 26, MI = 27, VI = 28;
  const B1 = SPLAT, B2 = SPLAT + 1, C1 = SPLAT + 2, C2 = SPLAT + 3, D1 = SPLAT + 4, D2 = SPLAT + 5, EPS = SPLAT + 6, NLR = SPLAT + 7;
  const get = (l: number) => [OP.localGet, l];
  const set = (l: number) => [OP.localSet, l];
  const simd = (op: number) => [OP.simd, ...uleb(op)];
  // Alignment hint 2^4 = 16 bytes (a hint only: unaligned addresses still work), offset 0.
  const at = (base: number) => [...get(base), ...get(I), OP.i32Add];
  const load = (base: number) => [...at(base), ...simd(SIMD.load), 4, 0];
  const mul = simd(SIMD.f32x4Mul);
  const add = simd(SIMD.f32x4Add);
  const div = simd(SIMD.f32x4Div);
  const code = [
    ...get(N), OP.i32Const, 2, OP.i32Shl, ...set(END),
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...get(8 + k), ...simd(SIMD.f32x4Splat), ...set(SPLAT + k)]),
    OP.block, 0x40,
    OP.loop, 0x40,
    ...get(I), ...get(END), OP.i32GeU, OP.brIf, 1,
    ...load(G), ...set(GI),
    // m' = m * beta1 + g * (1 - beta1)
    ...load(M), ...get(B1), ...mul, ...get(GI), ...get(C1), ...mul, ...add, ...set(MI),
    // v' = v * beta2 + (g * g) * (1 - beta2)
    ...load(V), ...get(B2), ...mul, ...get(GI), ...get(GI), ...mul, ...get(C2), ...mul, ...add, ...set(VI),
    ...at(MO), ...get(MI), ...simd(SIMD.store), 4, 0,
    ...at(VO), ...get(VI), ...simd(SIMD.store), 4, 0,
    // x' = ((m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon)) * -lr + x
    ...at(XO),
    ...get(MI), ...get(D1), ...div,
    ...get(VI), ...get(D2), ...div, ...simd(SIMD.f32x4Sqrt), ...get(EPS), ...add,
    ...div, ...get(NLR), ...mul,
    ...load(X), ...add,
    ...simd(SIMD.store), 4, 0,
    ...get(I), OP.i32Const, 16, OP.i32Add, ...set(I),
    OP.br, 0,
    OP.end,
    OP.end,
    OP.end,
  ];
  const locals = [2, 2, I32, 11, V128];
  const body = [...locals, ...code];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 16, ...Array<number>(8).fill(I32), ...Array<number>(8).fill(F32), 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('adam'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return Uint8Array.from(bytes);
}

/** The exported function's signature. */
export type AdamSimd = (
  x: number, m: number, v: number, g: number, xOut: number, mOut: number, vOut: number, n: number,
  beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
  oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number, negLearningRate: number,
) => void;

/**
 * The part of the global WebAssembly API used here (the project's TypeScript
 * libs leave it out: it belongs to the DOM and Node typings, not ES).
 */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/** True when `memory` is a WebAssembly.Memory (what the wasm backend's module exports as `asm.memory`). */
export function isWasmMemory(memory: unknown): memory is object {
  return wasmApi !== undefined && memory instanceof wasmApi.Memory;
}

/** One instance per memory (one per wasm backend; tests may start more than one). */
const instances = new WeakMap<object, AdamSimd | null>();
let compiled: object | null | undefined;

/**
 * The SIMD Adam update bound to `memory` (a WebAssembly.Memory), or null where this runtime has
 * no wasm SIMD (the caller then takes the scalar loop). Compiled once,
 * synchronously: the module is far below any engine's synchronous limit.
 */
export function adamSimdFor(memory: object): AdamSimd | null {
  const known = instances.get(memory);
  if (known !== undefined) return known;
  if (compiled === undefined) {
    const bytes = adamModuleBytes();
    compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  const fn = compiled && wasmApi ? (new wasmApi.Instance(compiled, { env: { memory } }).exports['adam'] as AdamSimd) : null;
  instances.set(memory, fn);
  return fn;
}
