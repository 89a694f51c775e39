/**
 * A small assembler for WebAssembly SIMD kernels that run over the wasm
 * backend's own heap: one exported function per module, importing the
 * backend's WebAssembly.Memory as `env.memory`, so it reads and writes
 * tensors where they are (by heap address) and sees the memory grow.
 *
 * Why hand-assembled: the elementwise and pooling work these kernels do is
 * a few dozen instructions, and the project has no wasm toolchain in its
 * build; bytes built here from named opcodes keep that true. Each module
 * is a few hundred bytes, compiled synchronously once per process and
 * instantiated once per backend memory.
 *
 * Where wasm SIMD is missing (WebAssembly.validate refuses the module) the
 * callers fall back to their scalar loops.
 */

/** Core opcodes used by the kernels (WebAssembly specification, section 5.4). */
export const OP = {
  block: 0x02,
  if: 0x04,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f32Load: 0x2a,
  f32Store: 0x38,
  f32Add: 0x92,
  simd: 0xfd,
} as const;

/** SIMD sub-opcodes (after 0xfd, LEB128-encoded; SIMD specification). */
export const SIMD = {
  load: 0x00,
  store: 0x0b,
  f32x4Splat: 0x13,
  f32x4Gt: 0x44,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Bitselect: 0x52,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
} as const;

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** f32.const (little-endian IEEE 754 single). */
export function f32(value: number): number[] {
  const bytes = new Uint8Array(new Float32Array([value]).buffer);
  return [OP.f32Const, ...bytes];
}

/** Instruction helpers. */
export const get = (local: number): number[] => [OP.localGet, ...uleb(local)];
export const set = (local: number): number[] => [OP.localSet, ...uleb(local)];
export const i32 = (n: number): number[] => [OP.i32Const, ...sleb(n)];
export const simd = (op: number): number[] => [OP.simd, ...uleb(op)];
/** v128.load / v128.store with a 16-byte alignment hint (only a hint: unaligned addresses work) and offset 0. */
export const v128Load = (): number[] => [...simd(SIMD.load), 4, 0];
export const v128Store = (): number[] => [...simd(SIMD.store), 4, 0];

/**
 * `for (ctr = from; ctr < limit; ctr += step) body` with `from`, `limit` and
 * `step` given as instructions that push an i32 (unsigned compare).
 */
export function forLoop(ctr: number, from: number[], limit: number[], step: number[], body: number[]): number[] {
  return [
    ...from, ...set(ctr),
    OP.block, 0x40,
    OP.loop, 0x40,
    ...get(ctr), ...limit, OP.i32GeU, OP.brIf, 1,
    ...body,
    ...get(ctr), ...step, OP.i32Add, ...set(ctr),
    OP.br, 0,
    OP.end,
    OP.end,
  ];
}

function name(s: string): number[] {
  const utf8 = new TextEncoder().encode(s);
  return [...uleb(utf8.length), ...utf8];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export interface SimdFunction {
  /** The export's name. */
  name: string;
  /** Parameter types, in order (locals 0..params.length-1). */
  params: number[];
  /** Further locals as [count, type] groups, numbered after the parameters. */
  locals: [number, number][];
  /** The body's instructions, without the final `end`. */
  code: number[];
}

/** The module's bytes: type, memory import, function, export and code sections. */
export function simdModuleBytes(fn: SimdFunction): Uint8Array {
  const body = [...uleb(fn.locals.length), ...fn.locals.flatMap(([count, type]) => [...uleb(count), type]), ...fn.code, OP.end];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, ...uleb(fn.params.length), ...fn.params, 0]),
    // env.memory, limits min 0 and no max: compatible with whatever the backend's memory is.
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name(fn.name), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

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

/** The backend's WebAssembly.Memory (its emscripten module exports it as `asm.memory`), or undefined. */
export function backendMemory(wasmModule: unknown): object | undefined {
  const memory = (wasmModule as { asm?: { memory?: unknown } } | undefined)?.asm?.memory;
  return wasmApi !== undefined && memory instanceof wasmApi.Memory ? memory : undefined;
}

/**
 * The export `name` of `compiled` instantiated over `memory`, or null when
 * linking fails: the module declares an unshared memory, so the threaded
 * wasm backend's shared memory cannot be imported (the callers then take
 * their scalar loops rather than fail the kernel).
 */
function instantiate<F>(api: WebAssemblyApi, compiled: object, memory: object, name: string): F | null {
  try {
    return new api.Instance(compiled, { env: { memory } }).exports[name] as F;
  } catch {
    return null;
  }
}

/**
 * Compiles `fn` once and returns, per memory, its export bound to that
 * memory; null (always, for this function) where the runtime refuses the
 * module, i.e. has no wasm SIMD, and for a memory it cannot link to.
 */
export function simdKernel<F>(fn: SimdFunction): (memory: object) => F | null {
  let compiled: object | null | undefined;
  const instances = new WeakMap<object, F | null>();
  return (memory) => {
    const known = instances.get(memory);
    if (known !== undefined) return known;
    if (compiled === undefined) {
      const bytes = simdModuleBytes(fn);
      compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
    }
    const bound = compiled && wasmApi ? instantiate<F>(wasmApi, compiled, memory, fn.name) : null;
    instances.set(memory, bound);
    return bound;
  };
}
