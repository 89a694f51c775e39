/** The wasm heap arithmetic: a step's memory from two probes, and the largest batch that fits. */
import { largestFittingBatch, mib, stepMemoryFrom, WASM_HEAP_MAX_BYTES, WASM_HEAP_PLANNING_SHARE } from '../../src/engine/wasm-memory.js';

const MiB = 2 ** 20;

test('the limit is the 4 GiB - 64 KiB the tfjs-backend-wasm 4.22 build can grow to, planned at 75%', () => {
  expect(WASM_HEAP_MAX_BYTES).toBe(4 * 1024 * MiB - 65536);
  expect(WASM_HEAP_PLANNING_SHARE).toBe(0.75);
});

test.each([
  // peak at batch 1, at batch 2 -> fixed, per example
  [30 * MiB, 50 * MiB, { fixedBytes: 10 * MiB, perExampleBytes: 20 * MiB }],
  [8 * MiB, 8 * MiB, { fixedBytes: 8 * MiB, perExampleBytes: 0 }],
  [8 * MiB, 6 * MiB, { fixedBytes: 8 * MiB, perExampleBytes: 0 }], // noise: never negative
  [5 * MiB, 15 * MiB, { fixedBytes: 0, perExampleBytes: 10 * MiB }],
])('stepMemoryFrom(%d, %d)', (a, b, expected) => {
  expect(stepMemoryFrom(a, b)).toEqual(expected);
});

test.each([
  // step, live bytes, limit -> batch
  [{ fixedBytes: 10 * MiB, perExampleBytes: 20 * MiB }, 2 * MiB, 100 * MiB, 3], // (75 - 2 - 10) / 20 = 3.15
  [{ fixedBytes: 10 * MiB, perExampleBytes: 20 * MiB }, 0, 40 * MiB, 1], // (30 - 10) / 20
  [{ fixedBytes: 10 * MiB, perExampleBytes: 20 * MiB }, 0, 30 * MiB, 0], // 12.5 left < one example
  [{ fixedBytes: 80 * MiB, perExampleBytes: 1 }, 0, 100 * MiB, 0], // nothing left
  [{ fixedBytes: 1 * MiB, perExampleBytes: 0 }, 0, 100 * MiB, Infinity],
])('largestFittingBatch(%o, live %d, limit %d) = %d', (step, live, limit, expected) => {
  expect(largestFittingBatch(step, live, limit)).toBe(expected);
});

test('mib formats with one decimal', () => {
  expect(mib(1.25 * MiB)).toBe('1.3 MiB');
  expect(mib(WASM_HEAP_MAX_BYTES)).toBe('4095.9 MiB'); // 4 GiB - 64 KiB
});
