/**
 * UnsortedSegmentSum for the wasm backend, which has none in tfjs 4.22.
 *
 * It is the gradient of Gather (tfjs-core GatherV2_grad), so every Embedding
 * layer needs it to train: the token embedding of lstm/gru/conv1d/
 * transformer with `embedding:`, and the transformer's learned positional
 * table (an Embedding looked up at index 0, see src/engine/builders.ts).
 * Found by training those archs on wasm ("Kernel 'UnsortedSegmentSum' not
 * registered for backend 'wasm'").
 *
 * out[s, ...] = sum of x[i, ...] over every i with segmentIds[i] = s, for a
 * segmentIds whose shape is a prefix of x's (flattened to N rows of
 * x.size / N values); ids outside [0, numSegments) are dropped, as in
 * TensorFlow and tfjs's cpu kernel. One pass over x, adding rows into the
 * zeroed output on the wasm heap.
 */
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'UnsortedSegmentSum';

/** Creates the KernelConfig (`_tf` and `_stock` unused: kept for the common `create` signature). */
export function unsortedSegmentSumKernel(_tf: Tf, _stock: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const wasm = args.backend as BackendWasm;
    const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`${NAME} on wasm: expected x to be float32 or int32, got ${x.dtype}`);
    if (segmentIds.dtype !== 'int32') throw new Error(`${NAME} on wasm: expected segmentIds to be int32, got ${segmentIds.dtype}`);
    const prefix = segmentIds.shape;
    if (prefix.length > x.shape.length || prefix.some((d, i) => d !== x.shape[i])) {
      throw new Error(`${NAME}: expected segmentIds' shape [${prefix.join(', ')}] to be a prefix of x's [${x.shape.join(', ')}]`);
    }
    const rows = prefix.reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(prefix.length).reduce((a, b) => a * b, 1);
    // Allocate first: malloc may grow the wasm memory, which detaches views.
    const out = wasm.makeOutput([numSegments, ...x.shape.slice(prefix.length)], x.dtype);
    const dst = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
    dst.fill(0); // makeOutput's memory is not zeroed
    const src = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
    for (let r = 0; r < rows; r++) {
      const s = ids[r]!;
      if (s < 0 || s >= numSegments) continue;
      const from = r * inner;
      const to = s * inner;
      for (let j = 0; j < inner; j++) dst[to + j]! += src[from + j]!;
    }
    return out;
  };
  return { kernelName: NAME, backendName: 'wasm', kernelFunc };
}
