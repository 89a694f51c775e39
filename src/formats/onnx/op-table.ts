/**
 * Which ONNX op becomes what: the one list of supported ops (docs/onnx.md
 * and the "unsupported op" error print it) and the mapper of each.
 */
import type { ImportContext } from './import-context.js';
import { mapActivation, mapBatchNorm } from './map-activation.js';
import { mapConv } from './map-conv.js';
import { mapGemm } from './map-dense.js';
import { mapGlobalPool, mapPool } from './map-pool.js';
import { mapBinary, mapConcat, mapFlatten, mapPad, mapPassThrough, mapReshape } from './map-tensor-ops.js';
import type { OnnxNode } from './read-model.js';

export type OpMapper = (ctx: ImportContext, node: OnnxNode) => void;

/** Ops mapped to tfjs layers (MatMul is handled by the builder: it looks ahead for its bias). */
export const LAYER_OPS: Record<string, OpMapper> = {
  Conv: mapConv,
  Gemm: mapGemm,
  BatchNormalization: mapBatchNorm,
  Relu: mapActivation,
  LeakyRelu: mapActivation,
  Clip: mapActivation,
  Sigmoid: mapActivation,
  Tanh: mapActivation,
  HardSigmoid: mapActivation,
  HardSwish: mapActivation,
  Softmax: mapActivation,
  Add: mapBinary,
  Mul: mapBinary,
  Concat: mapConcat,
  MaxPool: mapPool,
  AveragePool: mapPool,
  GlobalAveragePool: mapGlobalPool,
  GlobalMaxPool: mapGlobalPool,
  Flatten: mapFlatten,
  Reshape: mapReshape,
  Pad: mapPad,
  Dropout: mapPassThrough,
  Identity: mapPassThrough,
};

/** Ops that are folded when their inputs are constants (shape arithmetic); not layers. */
export const CONSTANT_ONLY_OPS = ['Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast', 'Transpose', 'Sub', 'Div'] as const;

/** Every op type the importer accepts, sorted: what errors and docs list. */
export const SUPPORTED_OPS: readonly string[] = [...new Set([...Object.keys(LAYER_OPS), 'MatMul', ...CONSTANT_ONLY_OPS])].sort();

export function isSupportedOp(opType: string, domain: string): boolean {
  return (domain === '' || domain === 'ai.onnx') && SUPPORTED_OPS.includes(opType);
}
