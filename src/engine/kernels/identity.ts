/**
 * Identity for the wasm backend, replacing the stock one for data on the
 * heap: the output shares the input's data (a reference count), as the cpu
 * and webgl backends' Identity do, instead of a copy.
 *
 * Why it matters for training: while the tape records, tfjs-core clones
 * every tensor a gradient will need (Engine.saveTensorsForBackwardMode), so
 * every saved activation and weight went through the stock wasm Identity,
 * which allocates and copies. On a LeNet-5 step at batch 64 that is about
 * 1.7 M floats (6.8 MB) written per step for nothing: tensors are immutable,
 * and no kernel of ours writes into an input (adam-update.ts explains why it
 * writes new outputs: Variable.assign shares data ids the same way).
 *
 * Strings are not on the heap: they go to the stock kernel.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'Identity';

/** Creates the KernelConfig; `stock` serves strings, `_tf` is unused (the common `create` signature). */
export function identityKernel(_tf: Tf, stock: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') {
      if (stock === undefined) throw new Error(`${NAME} on wasm: strings need the stock kernel, which is not registered`);
      return stock.kernelFunc(args);
    }
    // The engine counts one more tensor on this data id; the backend frees the heap block at the last dispose.
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  const config: KernelConfig = { kernelName: NAME, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}
