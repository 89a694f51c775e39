/**
 * Extra and replacement kernels that make training work (and work fast) on
 * tfjs-backend-wasm 4.22.
 *
 * Found by training an MLP (dense, relu/tanh/sigmoid/elu/selu, dropout,
 * softmax + categorical cross-entropy), LeNet-5 (conv2d 5x5 same/valid,
 * max/avg pooling 2x2/2, dense) and a small CNN (conv2d 3x3 same, batch norm,
 * max pooling, dropout, flatten, dense) with sgd, momentum and adam on wasm,
 * registering each "Kernel 'X' not registered for backend 'wasm'" and
 * retrying, then comparing every gradient kernel those models hit against the
 * cpu backend, then profiling a LeNet-5 training step:
 *
 * - Conv2DBackpropFilter (missing): the filter gradient of every conv2d.
 *   Built from the stock XNNPACK Conv2D with batch and channels swapped
 *   (the original stride becomes the dilation), then Transpose (+ Slice);
 *   one-channel inputs instead multiply an im2col patch matrix (im2col.ts,
 *   conv2d-im2col.ts). See conv2d-backprop-filter.ts.
 * - MaxPoolGrad (registered, wrong): the stock C++ kernel starts its argmax at
 *   FLT_MIN instead of -inf, so windows of values <= 0 lose their gradient
 *   (batch norm -> max pool trains on wrong gradients). Replaced by the cpu
 *   algorithm over views of the wasm heap. See max-pool-grad.ts.
 * - Conv2DBackpropInput (registered, correct, slow): a scalar C++ loop, the
 *   costliest kernel of a wasm LeNet-5 step. For stride 1 it is a forward
 *   XNNPACK Conv2D with the filter flipped and its channels swapped, or,
 *   where that conv would mostly multiply padding zeros and for strides > 1,
 *   one matmul dy x filter^T plus col2im (conv2d-col2im.ts). See
 *   conv2d-backprop-input.ts.
 *
 * Checked and left alone (they match cpu): AvgPoolGrad, EluGrad; everything
 * else those models use has no dedicated gradient kernel (relu, tanh, sigmoid,
 * selu, softmax and batch-norm gradients are built from ops).
 *
 * Then MobileNet-class models: a Keras MobileNetV2 (examples/pretrained/
 * mobilenet-v2.mjs: ZeroPadding2D, DepthwiseConv2D strides 1 and 2,
 * BatchNormalization, ReLU with max_value 6, residual Add,
 * GlobalAveragePooling2D, Dense) trained on wasm the same way, then every
 * gradient it hits compared with cpu op by op and for the whole model
 * (test/engine/kernels/mobilenet-grads.test.ts), then a training step
 * profiled with tf.profile:
 *
 * - DepthwiseConv2dNativeBackpropFilter and DepthwiseConv2dNativeBackpropInput
 *   (missing): the filter and input gradients of every depthwise conv. Tight
 *   loops over wasm heap views (no stock op computes a per-channel filter
 *   gradient). See depthwise-conv2d-backprop-filter.ts / -input.ts.
 * - Tile (registered, correct, slow): batch norm's gradient tiles a
 *   per-channel factor to each activation's shape; the stock per-element
 *   Tile was the costliest kernel of the step. Replaced by block copies.
 *   See tile.ts.
 * - Checked and left alone (they match cpu): the ReLU6 path (relu, then
 *   clipByValue, whose gradient is Select over GreaterEqual/LessEqual/
 *   LogicalAnd), pad (ZeroPadding2D), mean (GlobalAveragePooling2D), batch
 *   norm in training and inference mode, Add, Conv2D 1x1, Dense, Dropout,
 *   Reshape: all built from ops whose wasm kernels match.
 *
 * The `Aborted()` a 224x224 MobileNetV2 hits on wasm at batch 16 is not a
 * kernel: it is the wasm heap's 4 GiB limit (src/engine/wasm-memory.ts),
 * which the training loop now plans around with micro-batches.
 *
 * Then training speed (bench/profile-train.mjs, issue 22): a LeNet-300-100
 * Adam step on wasm spent half its kernel time in one transposed product:
 *
 * - BatchMatMul (registered, correct, slow when transposed): the stock
 *   kernel takes XNNPACK's path only for untransposed, unbatched products;
 *   every Dense layer's weight gradient (transposeA) and input gradient
 *   (transposeB) ran a scalar strided loop 10-15x slower. Replaced by an
 *   explicit transpose into a contiguous buffer, then the fast path.
 *   See batch-mat-mul.ts.
 *
 * Then sequence models (issue 21: the lstm, gru, conv1d and transformer
 * archs of src/engine/builders.ts, test/engine/kernels/sequence-training.test.ts),
 * gradients and a few Adam steps compared with cpu:
 *
 * - UnsortedSegmentSum (missing): Gather's gradient, so every Embedding
 *   layer (token embeddings, the transformer's positional table). A row
 *   scatter-add on the wasm heap. See unsorted-segment-sum.ts.
 * - Tile's gradient (a gradient, not a kernel, and so for every backend):
 *   tfjs-core's adds one Slice of dy per repetition, and LayerNormalization
 *   tiles gamma and beta over batch x time, so one transformer training
 *   step took 154 s on wasm. Replaced by a reshape + sum. See tile-grad.ts;
 *   registered by registerWasmTrainingKernels too (reported as
 *   'Tile (gradient)').
 * - Checked and left alone (they match cpu): LSTM and GRU cells (tfjs
 *   unrolls them in JS: MatMul, sigmoid, tanh, Mul, Add, Split/Concat,
 *   masked steps through Where), Bidirectional (Reverse), Conv1D (Conv2D via
 *   ExpandDims and its backprop kernels above), MaxPooling1D, global
 *   average/max pooling over time, LayerNormalization (moments, Rsqrt), the
 *   attention's Dot layers (BatchMatMul, transposed, above) and Softmax.
 *
 * Then the MobileNetV2 fine-tuning step again (issue 22: 7.45x slower than
 * PyTorch on one core; bench/results/profile-mobilenet-before.md): most of
 * its ~7,000 kernel calls were tiny composed ops, so dispatch was the cost:
 *
 * - ModelpressBatchNormTraining / ModelpressBatchNormTrainingGrad (ours, with
 *   their gradient): training-mode batch norm in one kernel each way instead
 *   of ~60 composed calls per layer; used by the BatchNormalization layers
 *   that src/engine/fused-batch-norm-training.ts patches. See
 *   batch-norm-training.ts.
 * - ModelpressClipByValueGrad (ours) and ClipByValue's gradient: ReLU6's
 *   gradient in one pass instead of five kernels; the gradient falls back to
 *   tfjs-core's composition on backends without the kernel. See
 *   clip-by-value-grad.ts.
 *
 * Then the optimizer (issue 22: Adam's step was ~9% of a LeNet-5 step, 10
 * composed elementwise kernels plus 3 assigns per variable):
 *
 * - ModelpressAdamUpdate (ours): one Adam step for one variable in one pass,
 *   the same float32 arithmetic as tfjs's AdamOptimizer; used by
 *   src/engine/fused-adam.ts, which makeOptimizer returns for 'adam'. See
 *   adam-update.ts.
 *
 * Then the LeNet-5 step's smaller kernels, as wasm SIMD functions over the
 * backend's heap (wasm-simd-module.ts assembles them; same bits as before):
 *
 * - MaxPoolGrad (ours, above): 2x2/2 pools that tile the input take a
 *   branch-free SIMD version of the first-maximum rule
 *   (max-pool-grad-simd.ts); the scalar scan mispredicted its compares.
 * - Sum (registered, correct, slow for bias gradients): summing every axis
 *   but the last transposed the whole tensor first; replaced for that case
 *   by an in-place SIMD column sum in the same order (sum.ts,
 *   sum-columns-simd.ts); other sums go to the stock kernel.
 * - Conv2DBackpropInput (ours, above): the col2im scatter-add of 'valid'
 *   convs as SIMD adds of each window row (col2im-simd.ts).
 * - Conv2DBackpropFilter (ours, above): the one-channel patch matrix of
 *   'valid' convs as SIMD row copies (im2col-simd.ts).
 * - BatchMatMul (ours, above): a Dense input gradient dy x W^T as
 *   (W x dy^T)^T, so XNNPACK packs dy^T rather than a copy of W^T.
 *
 * - Identity (registered, copies): shares the input's data instead, as the
 *   cpu and webgl backends do; the tape clones every tensor a gradient
 *   needs, so the copies were ~1.7 M floats per LeNet-5 step (identity.ts).
 *
 * Not covered (not needed by these models): the stock MaxPool3DGrad and
 * MaxPoolWithArgmax share MaxPoolGrad's FLT_MIN bug.
 */
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs';
import { adamUpdateKernel } from './adam-update.js';
import { batchMatMulKernel } from './batch-mat-mul.js';
import { batchNormTrainingGradConfig, batchNormTrainingGradKernel, batchNormTrainingKernel } from './batch-norm-training.js';
import { clipByValueGradConfig, clipByValueGradKernel } from './clip-by-value-grad.js';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input.js';
import { depthwiseConv2dBackpropFilterKernel } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInputKernel } from './depthwise-conv2d-backprop-input.js';
import { identityKernel } from './identity.js';
import { maxPoolGradKernel } from './max-pool-grad.js';
import { sumKernel } from './sum.js';
import { tileKernel } from './tile.js';
import { tileGradConfig } from './tile-grad.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';
import type { Tf } from './wasm-kernel-utils.js';

export { ADAM_UPDATE, adamUpdate, adamUpdateKernel } from './adam-update.js';
export type { AdamUpdateAttrs } from './adam-update.js';
export { batchMatMulKernel } from './batch-mat-mul.js';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, batchNormTrainingGradConfig, batchNormTrainingGradKernel, batchNormTrainingKernel } from './batch-norm-training.js';
export { CLIP_BY_VALUE_GRAD, clipByValueGradConfig, clipByValueGradKernel } from './clip-by-value-grad.js';
export { conv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
export { conv2DBackpropInputKernel } from './conv2d-backprop-input.js';
export { depthwiseConv2dBackpropFilterKernel } from './depthwise-conv2d-backprop-filter.js';
export { depthwiseConv2dBackpropInputKernel } from './depthwise-conv2d-backprop-input.js';
export { identityKernel } from './identity.js';
export { maxPoolGradKernel } from './max-pool-grad.js';
export { sumKernel } from './sum.js';
export { tileKernel } from './tile.js';
export { tileGradConfig } from './tile-grad.js';
export { unsortedSegmentSumKernel } from './unsorted-segment-sum.js';
export type { Tf } from './wasm-kernel-utils.js';

/** How a kernel relates to the stock wasm registry. */
export type WasmKernelMode =
  /** The stock backend lacks it: register unless something already is. */
  | 'missing'
  /** The stock kernel is wrong or slow: replace it unless ours is already in place. */
  | 'replace';

export interface WasmTrainingKernel {
  name: string;
  mode: WasmKernelMode;
  /** Builds the config; `stock` is the kernel registered before (a 'replace' may delegate to it). */
  create: (tf: Tf, stock: KernelConfig | undefined) => KernelConfig;
}

/** Every kernel `registerWasmTrainingKernels` manages, in registration order. */
export const WASM_TRAINING_KERNELS: readonly WasmTrainingKernel[] = [
  { name: 'Conv2DBackpropFilter', mode: 'missing', create: conv2DBackpropFilterKernel },
  { name: 'MaxPoolGrad', mode: 'replace', create: maxPoolGradKernel },
  { name: 'Conv2DBackpropInput', mode: 'replace', create: conv2DBackpropInputKernel },
  { name: 'DepthwiseConv2dNativeBackpropFilter', mode: 'missing', create: depthwiseConv2dBackpropFilterKernel },
  { name: 'DepthwiseConv2dNativeBackpropInput', mode: 'missing', create: depthwiseConv2dBackpropInputKernel },
  { name: 'Tile', mode: 'replace', create: tileKernel },
  { name: 'BatchMatMul', mode: 'replace', create: batchMatMulKernel },
  { name: 'UnsortedSegmentSum', mode: 'missing', create: unsortedSegmentSumKernel },
  { name: 'ModelpressBatchNormTraining', mode: 'missing', create: batchNormTrainingKernel },
  { name: 'ModelpressBatchNormTrainingGrad', mode: 'missing', create: batchNormTrainingGradKernel },
  { name: 'ModelpressClipByValueGrad', mode: 'missing', create: clipByValueGradKernel },
  { name: 'ModelpressAdamUpdate', mode: 'missing', create: adamUpdateKernel },
  { name: 'Sum', mode: 'replace', create: sumKernel },
  { name: 'Identity', mode: 'replace', create: identityKernel },
];

/** Gradients registerWasmTrainingKernels puts in place (tfjs keeps one per op, for every backend). */
const GRADIENTS: readonly { name: string; kernelName: string; create: (tf: Tf) => GradConfig }[] = [
  // Same values, a different float summation order, on cpu too.
  { name: 'Tile (gradient)', kernelName: 'Tile', create: tileGradConfig },
  // Ours: the stock composition on backends without ModelpressClipByValueGrad.
  { name: 'ClipByValue (gradient)', kernelName: 'ClipByValue', create: clipByValueGradConfig },
  // A kernel of ours: nothing else registers its gradient.
  { name: 'ModelpressBatchNormTraining (gradient)', kernelName: 'ModelpressBatchNormTraining', create: batchNormTrainingGradConfig },
];

/** kernelFuncs created here, to recognise our own registrations on later calls. */
const ours = new WeakSet<object>();

/**
 * Registers the kernels in {@link WASM_TRAINING_KERNELS} for the 'wasm'
 * backend of `tf` and returns the names it registered (empty when all were
 * already in place, so calling it again is harmless).
 *
 * `tf` is a parameter, not an import, so that loading this module does not load
 * tfjs (see src/engine/tf.ts); call it from `loadTf`'s `beforeReady` hook:
 * `loadTf('wasm', { beforeReady: (tf) => void registerWasmTrainingKernels(tf) })`.
 *
 * @throws Error when '@tensorflow/tfjs-backend-wasm' has not been imported
 *   yet: its stock kernels would then be registered after ours and silently
 *   replace the MaxPoolGrad and Conv2DBackpropInput replacements.
 */
export function registerWasmTrainingKernels(tf: Tf): string[] {
  if (tf.getKernel('Conv2D', 'wasm') === undefined) {
    throw new Error(
      "registerWasmTrainingKernels: import '@tensorflow/tfjs-backend-wasm' first " +
        '(its stock kernels would otherwise overwrite these)',
    );
  }
  const registered: string[] = [];
  for (const kernel of WASM_TRAINING_KERNELS) {
    const existing = tf.getKernel(kernel.name, 'wasm');
    if (existing !== undefined) {
      if (kernel.mode === 'missing' || ours.has(existing.kernelFunc)) continue;
      tf.unregisterKernel(kernel.name, 'wasm');
    }
    const config = kernel.create(tf, existing);
    ours.add(config.kernelFunc);
    tf.registerKernel(config);
    registered.push(kernel.name);
  }
  for (const gradient of GRADIENTS) {
    const grad = tf.getGradient(gradient.kernelName);
    if (grad !== undefined && ours.has(grad.gradFunc)) continue;
    const config = gradient.create(tf);
    ours.add(config.gradFunc);
    tf.registerGradient(config);
    registered.push(gradient.name);
  }
  return registered;
}
