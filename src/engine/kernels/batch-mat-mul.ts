/**
 * BatchMatMul for the wasm backend, replacing the stock one when an operand
 * is transposed.
 *
 * The stock C++ kernel (tfjs-backend-wasm 4.22 batch_mat_mul_impl.cc) sends
 * a product to XNNPACK's fully-connected operator only when neither operand
 * is transposed and both batch sizes are 1; every other product goes to
 * `slow_batch_matmul`, a scalar blocked loop whose inner loop strides
 * through memory when A is transposed. That is the form of every Dense
 * layer's weight gradient (`matMul(x, dy, true, false)`) and, with B
 * transposed, of its input gradient: profiling a LeNet-300-100 Adam step
 * (bench/results/profile-lenet300-before.md), the 64x784 by 64x300 weight
 * gradient alone was half the step's kernel time, 10-15x the untransposed
 * product of the same size.
 *
 * So for unbatched products we transpose the transposed operand into a
 * contiguous buffer with the stock Transpose kernel (a memory-bound copy)
 * and run the stock kernel untransposed, which takes the XNNPACK path.
 * XNNPACK sums in its own order, so results differ from the stock loop by
 * float rounding (within the kernel tolerance of the tests).
 *
 * With B transposed and larger than A and the product together (a Dense
 * layer's input gradient dy[M,N'] x W[K',N']^T, W being the weights), the
 * product is computed transposed instead, C^T = B . A^T, and transposed back:
 * XNNPACK packs its right operand on every call (each step's weights are a
 * new tensor, so nothing is cached), and this way that operand is the small
 * A^T instead of the weight matrix, which is neither transposed nor packed.
 * LeNet-5's [64,500] x [800,500]^T: 2.98 -> 1.83 ms; LeNet-300-100's
 * [64,300] x [784,300]^T: 1.77 -> 1.15 ms (medians of 40 interleaved calls
 * with a new B each call, load ~4 on 2 cores). On both shapes the results
 * were the same bits as the transposed-copy route's (XNNPACK sums each
 * output over k in order either way).
 *
 * Batched products (batch > 1) stay on the scalar loop, whose summation
 * order does not depend on the transposes; we only hand it the layout its
 * inner loop reads contiguously (A untransposed, B transposed), so those
 * results are bit-identical to the stock kernel's.
 */
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assertFloat32, disposeInfo, runWasmKernel } from './wasm-kernel-utils.js';
import type { Tf } from './wasm-kernel-utils.js';

const NAME = 'BatchMatMul';

/**
 * Creates the KernelConfig. `stock` is the kernel it wraps (it does the
 * arithmetic; this kernel only chooses the layout it sees); `tf` is passed
 * in so this module loads without tfjs.
 */
export function batchMatMulKernel(tf: Tf, stock: KernelConfig | undefined): KernelConfig {
  if (stock === undefined) throw new Error(`${NAME} on wasm: the stock kernel is not registered, and this one only rearranges its operands`);
  const kernelFunc: KernelFunc = (args) => {
    const wasm = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    assertFloat32(NAME, 'a', a);
    assertFloat32(NAME, 'b', b);
    const batched = batchSize(a) > 1 || batchSize(b) > 1;
    // What the stock kernel computes fastest: XNNPACK (no transposes) unbatched, (false, true) on its scalar loop.
    const wantA = false;
    const wantB = batched;
    if (transposeA === wantA && transposeB === wantB) return stock.kernelFunc(args);
    if (!batched && !transposeA && transposeB && size(b) > size(a) + productSize(a, b)) {
      // C = A B^T = (B A^T)^T: B is the left operand as it is, A^T the packed one.
      const aT = swapLastTwo(tf, wasm, a);
      let cT: TensorInfo;
      try {
        cT = stock.kernelFunc({ ...args, inputs: { a: b, b: aT }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as TensorInfo;
      } finally {
        disposeInfo(wasm, aT);
      }
      try {
        return swapLastTwo(tf, wasm, cT);
      } finally {
        disposeInfo(wasm, cT);
      }
    }
    const temps: TensorInfo[] = [];
    const relayout = (x: TensorInfo): TensorInfo => {
      const t = swapLastTwo(tf, wasm, x);
      temps.push(t);
      return t;
    };
    try {
      return stock.kernelFunc({
        ...args,
        inputs: { a: transposeA === wantA ? a : relayout(a), b: transposeB === wantB ? b : relayout(b) },
        attrs: { ...args.attrs, transposeA: wantA, transposeB: wantB },
      });
    } finally {
      for (const t of temps) disposeInfo(wasm, t);
    }
  };
  // The stock kernel's cwrap happens in its setupFunc, which the backend only
  // runs for kernels registered when it initialises: that is now this one.
  const config: KernelConfig = { kernelName: NAME, backendName: 'wasm', kernelFunc };
  if (stock.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/** The product of the dimensions before the last two (1 for a matrix). */
function batchSize(x: TensorInfo): number {
  return x.shape.slice(0, -2).reduce((p, d) => p * d, 1);
}

/** Elements of `x`. */
function size(x: TensorInfo): number {
  return x.shape.reduce((p, d) => p * d, 1);
}

/** Elements of A B^T for an unbatched A [.., M, K] and B [.., N, K]. */
function productSize(a: TensorInfo, b: TensorInfo): number {
  return a.shape[a.shape.length - 2]! * b.shape[b.shape.length - 2]!;
}

/** `x` with its last two axes swapped, as a new contiguous tensor (the caller disposes it). */
function swapLastTwo(tf: Tf, wasm: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  if (rank < 2) throw new Error(`${NAME}: expected operands of rank >= 2, got shape [${x.shape.join(', ')}]`);
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return runWasmKernel(tf, wasm, 'Transpose', { x }, { perm });
}
