/**
 * Helpers for kernels that compose stock wasm kernels at the backend level.
 *
 * A kernelFunc runs inside the engine with `kernelDepth > 0`, so the gradient
 * tape is already off (tfjs-core engine: `isTapeOn()` is
 * `gradientDepth > 0 && kernelDepth === 0`), but public ops called from inside
 * a kernel would still create engine-tracked Tensors and scopes. tfjs's own
 * backends compose kernels one level lower instead: they call the other
 * kernels' `kernelFunc` directly with the same backend, get plain TensorInfos
 * back and free intermediates with `backend.disposeData`. We do the same, so
 * the engine sees exactly one new data id per kernel call (its output), which
 * is what its `IS_TEST` leak check asserts.
 */
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The '@tensorflow/tfjs' module namespace (same shape as src/engine/tf.ts `Tf`). */
export type Tf = typeof import('@tensorflow/tfjs');

/** A 4-D shape, as tfjs' conv/pool helpers type it. */
export type Shape4 = [number, number, number, number];

/**
 * Runs the stock wasm kernel `name` on `backend` and returns its single
 * output. The caller owns the result: dispose it with {@link disposeInfo}
 * unless it is the kernel's own return value.
 */
export function runWasmKernel(
  tf: Tf,
  backend: BackendWasm,
  name: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config: KernelConfig | undefined = tf.getKernel(name, 'wasm');
  if (config === undefined) {
    throw new Error(`modelpress wasm kernels need the stock wasm kernel '${name}', which is not registered`);
  }
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) {
    throw new Error(`Expected wasm kernel '${name}' to return one tensor, got ${out.length}`);
  }
  return out;
}

/** Frees an intermediate produced by {@link runWasmKernel}. */
export function disposeInfo(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/** Narrows a TensorInfo shape to rank 4 or throws a message naming the kernel and input. */
export function shape4(kernel: string, input: string, info: TensorInfo): Shape4 {
  const s = info.shape;
  if (s.length !== 4) {
    throw new Error(`${kernel}: expected ${input} to be rank 4, got shape [${s.join(', ')}]`);
  }
  return [s[0]!, s[1]!, s[2]!, s[3]!];
}

/** Throws unless `info` is float32 (the only dtype these kernels compute in). */
export function assertFloat32(kernel: string, input: string, info: TensorInfo): void {
  if (info.dtype !== 'float32') {
    throw new Error(`${kernel}: expected ${input} to be float32, got ${info.dtype}`);
  }
}
