/**
 * The in-memory TFLite graph between a tfjs LayersModel and the flatbuffer:
 * tensors (NHWC, batch 1, weights already in TFLite's layouts) and operators
 * in execution order. The float graph comes from the layers
 * (from-layers.ts), the int8 graph from it by quantization (quantize.ts);
 * both are run by the reference executor (reference.ts) and written by
 * writer.ts.
 */
import type { OpName } from './schema.js';

export type TensorDType = 'float32' | 'int8' | 'int32';

/** Affine quantization `real = scale * (q - zeroPoint)`; per channel along `dimension` when there are several scales. */
export interface TensorQuant {
  scale: number[];
  zeroPoint: number[];
  /** The axis the scales run along (per-channel); 0 for per-tensor. */
  dimension: number;
}

export type TensorData = Float32Array | Int8Array | Int32Array;

export interface GraphTensor {
  name: string;
  shape: number[];
  dtype: TensorDType;
  /** Constant values (weights, biases, shapes); undefined for activations. */
  data?: TensorData;
  quant?: TensorQuant;
}

export type PaddingKind = 'same' | 'valid';
export type FusedActivation = 'none' | 'relu' | 'relu6';

export type OpOptions =
  | { kind: 'conv'; padding: PaddingKind; strides: [number, number]; activation: FusedActivation }
  | { kind: 'depthwise'; padding: PaddingKind; strides: [number, number]; multiplier: number; activation: FusedActivation }
  | { kind: 'pool'; padding: PaddingKind; strides: [number, number]; size: [number, number] }
  | { kind: 'fc'; activation: FusedActivation }
  | { kind: 'softmax'; beta: number }
  | { kind: 'concat'; axis: number }
  | { kind: 'add'; activation: FusedActivation }
  | { kind: 'reshape'; shape: number[] }
  | { kind: 'mean'; keepDims: boolean }
  | { kind: 'none' };

export interface GraphOp {
  op: OpName;
  inputs: number[];
  outputs: number[];
  options: OpOptions;
  /** The Keras layer it came from (diagnostics, the simulation's keys). */
  layer: string;
}

export interface TfliteGraph {
  tensors: GraphTensor[];
  ops: GraphOp[];
  inputs: number[];
  outputs: number[];
}

/** Number of elements of `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
