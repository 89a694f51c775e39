/**
 * The in-process wasm SIMD assembler (src/engine/kernels/wasm-simd-module.ts):
 * LEB128 immediates as the WebAssembly spec encodes them, a kernel bound to a
 * plain memory of its own computes what its scalar reference does (the Adam
 * update over floats written into that memory), and a shared memory (the
 * threaded wasm backend's kind), which the module cannot import, gives null
 * so callers fall back to their scalar loops instead of failing.
 */
import { adamSimdFor } from '../../../src/engine/kernels/adam-update-simd.js';
import { adamUpdate } from '../../../src/engine/kernels/adam-update.js';
import { sleb, uleb } from '../../../src/engine/kernels/wasm-simd-module.js';
import { uniform } from './helpers.js';

/** The global WebAssembly.Memory (the project's TypeScript libs leave the WebAssembly API out). */
const { Memory } = (globalThis as unknown as {
  WebAssembly: { Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer } };
}).WebAssembly;

test('LEB128: unsigned and signed encodings', () => {
  expect(uleb(0)).toEqual([0x00]);
  expect(uleb(127)).toEqual([0x7f]);
  expect(uleb(128)).toEqual([0x80, 0x01]);
  expect(uleb(0xe4)).toEqual([0xe4, 0x01]); // f32x4.add's sub-opcode
  expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]); // the spec's example
  expect(sleb(0)).toEqual([0x00]);
  expect(sleb(16)).toEqual([0x10]);
  expect(sleb(63)).toEqual([0x3f]);
  expect(sleb(64)).toEqual([0xc0, 0x00]); // 0x40 alone would read as -64
  expect(sleb(-1)).toEqual([0x7f]);
  expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
});

test('a kernel bound to a memory of its own computes what its scalar reference does', () => {
  const memory = new Memory({ initial: 1 });
  const adam = adamSimdFor(memory);
  expect(adam).not.toBeNull();
  const n = 64;
  const heap = new Float32Array(memory.buffer);
  const [x, m, v, g] = [0, 1, 2, 3].map((k) => uniform([n], 40 + k));
  v!.forEach((e, i) => (v![i] = Math.abs(e)));
  [x, m, v, g].forEach((a, k) => heap.set(a!, k * n));
  const attrs = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, oneMinusAccBeta1: Math.fround(0.1), oneMinusAccBeta2: Math.fround(0.001) };
  const f = Math.fround;
  adam!(0, 4 * n, 8 * n, 12 * n, 16 * n, 20 * n, 24 * n, n, attrs.beta1, attrs.beta2, f(1 - attrs.beta1), f(1 - attrs.beta2), attrs.oneMinusAccBeta1, attrs.oneMinusAccBeta2, attrs.epsilon, -attrs.learningRate);
  const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
  adamUpdate(x!, m!, v!, g!, ...want, attrs);
  expect(Array.from(heap.subarray(4 * n, 7 * n))).toEqual([...want[0], ...want[1], ...want[2]]);
});

test('a shared memory cannot be imported: null, so the caller takes its scalar loop', () => {
  const shared = new Memory({ initial: 1, maximum: 1, shared: true });
  expect(adamSimdFor(shared)).toBeNull();
});
