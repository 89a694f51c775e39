/**
 * Shared setup for the wasm kernel tests: one tfjs with both the cpu and the
 * wasm backend initialised, our kernels registered, seeded inputs, and an
 * element-wise closeness check.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/index.js';
import { mulberry32 } from '../../../src/data/dataset.js';

export { tf };

/** Initialises cpu and wasm once per test file and registers our kernels. */
export async function setupBackends(): Promise<string[]> {
  const registered = registerWasmTrainingKernels(tf);
  // The cpu backend prints a "use tfjs-node" banner on its first write unless PROD is set.
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  tf.scalar(0).dispose();
  tf.env().set('PROD', prod);
  await tf.setBackend('wasm');
  await tf.ready();
  return registered;
}

export type BackendId = 'cpu' | 'wasm';

/** Runs `fn` with `backend` active (both must already be initialised). */
export async function onBackend<T>(backend: BackendId, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

/** mulberry32 (the project's seeded PRNG) so inputs are identical on every run. */
export const rng = mulberry32;

/** `size(shape)` values uniform in [-1, 1) from `seed`. */
export function uniform(shape: readonly number[], seed: number): Float32Array {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  return out;
}

export interface HostTensor {
  values: Float32Array;
  shape: number[];
}

/** Runs kernel `name` on `backend` through the engine and returns its output on the host. */
export async function runKernelOn(
  backend: BackendId,
  name: string,
  inputs: Record<string, HostTensor>,
  attrs: NamedAttrMap,
): Promise<HostTensor> {
  return onBackend(backend, () =>
    tf.tidy(() => {
      const ins: Record<string, Tensor> = {};
      for (const [key, t] of Object.entries(inputs)) ins[key] = tf.tensor(t.values, t.shape, 'float32');
      const out = tf.engine().runKernel(name, ins, attrs) as Tensor;
      return { values: out.dataSync() as Float32Array, shape: out.shape.slice() };
    }),
  );
}

/** Element-wise tolerance: |actual - expected| <= atol + rtol * |expected|. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** The tolerance every kernel test uses (float32 vs the cpu backend's float64 sums). */
export const KERNEL_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/**
 * Index and size of the worst violation of `tol`, or undefined when all
 * elements are within it. Also fails on length mismatch or NaN.
 */
export function firstMismatch(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (Number.isNaN(a) !== Number.isNaN(e) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst < 0) return undefined;
  return `at [${worst}]: wasm ${actual[worst]} vs cpu ${expected[worst]} (exceeds tolerance by ${worstExcess.toExponential(2)})`;
}

/** max |a - e| and max |a - e| / |e| (for reporting). */
export function errorStats(actual: ArrayLike<number>, expected: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    abs = Math.max(abs, d);
    if (expected[i] !== 0) rel = Math.max(rel, d / Math.abs(expected[i]!));
  }
  return { abs, rel };
}
