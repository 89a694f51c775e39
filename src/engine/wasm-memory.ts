/**
 * How much training fits in the wasm backend's memory, and why it matters.
 *
 * tfjs-backend-wasm 4.22 is a wasm32 emscripten build with memory growth:
 * its heap starts at 16 MiB and may grow to `getHeapMax()` = 4294901760
 * bytes (4 GiB - 64 KiB, the wasm32 address space; see
 * wasm-out/tfjs-backend-wasm*.js). Every tensor lives in that heap. When a
 * `_malloc` would pass the limit it returns 0, which the backend does not
 * check (backend_wasm.ts `write`), and the next kernel writing through it
 * brings the module down with "Aborted(). Build with -sASSERTIONS for more
 * info." The module is dead after that: nothing can be caught and retried.
 *
 * Measured here (Node 20, 2 cores): one sgd step of a Keras MobileNetV2
 * (alpha 1.0, 224x224x3, 5 classes) at batch 16 grew the heap to 4096 MiB,
 * one malloc returned 0, and the step aborted. So the trainer must know
 * before a step whether it fits: {@link probeStepMemory} measures the tensor
 * bytes a training step needs for 1 and 2 examples (tfjs's profiler records
 * the peak), and {@link largestFittingBatch} turns that into the largest
 * batch that stays under the limit with headroom.
 *
 * For that MobileNetV2 the probe measured 18.5 MiB + 567 MiB per example
 * (tfjs's op-level autodiff keeps many full-size intermediates per layer:
 * batch norm, ReLU6's clip masks), so the largest batch within 75% of the
 * heap is 5; `runEpochs` then ran batch 16 as micro-batches of 5 without
 * aborting (heap 2786 MiB). The 32x32 alpha-0.35 model of
 * examples/pretrained needs about 1/49 of that per example: batch 32 fits.
 */

/** The largest size the tfjs-backend-wasm 4.22 heap can grow to, in bytes (4 GiB - 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

/**
 * Share of {@link WASM_HEAP_MAX_BYTES} a step may plan to use. The rest is
 * for what tfjs's byte count does not see: allocator fragmentation (freed
 * blocks of one size are not always reusable for another), XNNPACK's packed
 * weights and workspaces, and the optimizer's update temporaries.
 */
export const WASM_HEAP_PLANNING_SHARE = 0.75;

/** Tensor bytes of one training step, as a linear function of the batch size. */
export interface StepMemory {
  /** Bytes a step needs whatever its batch (weights' gradients, optimizer temporaries). */
  fixedBytes: number;
  /** Extra bytes per example (activations kept for the backward pass, their gradients). */
  perExampleBytes: number;
}

/**
 * Fits {@link StepMemory} to the peak new bytes of a step at batch 1 and at
 * batch 2 (as `tf.profile(...).peakBytes` minus the bytes live before).
 */
export function stepMemoryFrom(peakAt1: number, peakAt2: number): StepMemory {
  const perExampleBytes = Math.max(0, peakAt2 - peakAt1);
  return { perExampleBytes, fixedBytes: Math.max(0, peakAt1 - perExampleBytes) };
}

/**
 * The largest batch whose step stays under the planning share of the heap,
 * given `liveBytes` already held (weights, optimizer state, the dataset's
 * tensors). 0 when not even one example fits; Infinity when a step's bytes
 * do not grow with the batch.
 */
export function largestFittingBatch(
  step: StepMemory,
  liveBytes: number,
  limitBytes: number = WASM_HEAP_MAX_BYTES,
  share: number = WASM_HEAP_PLANNING_SHARE,
): number {
  const budget = limitBytes * share - liveBytes - step.fixedBytes;
  if (budget <= 0) return 0;
  if (step.perExampleBytes === 0) return Infinity;
  return Math.floor(budget / step.perExampleBytes);
}

/** MiB with one decimal, for messages. */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
