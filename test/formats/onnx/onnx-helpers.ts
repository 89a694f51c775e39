/** Builders of tiny ONNX models for the import and export tests. */
import { mulberry32 } from '../../../src/data/dataset.js';
import type { GraphSpec, NodeSpec, TensorSpec } from '../../../src/formats/onnx/write-model.js';

/** Seeded weights in [-0.5, 0.5). */
export function weights(name: string, dims: number[], seed = 1): TensorSpec {
  const rnd = mulberry32(seed + name.length * 7919);
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, data: Float32Array.from({ length: n }, () => rnd() - 0.5) };
}

/** Positive values (BatchNorm variances). */
export function positive(name: string, dims: number[], seed = 2): TensorSpec {
  const w = weights(name, dims, seed);
  return { ...w, data: Float32Array.from(w.data, (v) => v + 0.75) };
}

export function ints(name: string, values: number[]): TensorSpec {
  return { name, dims: [values.length], data: values, int64: true };
}

/** A one-input, one-output graph. */
export function graph(input: number[], output: number[], nodes: NodeSpec[], initializers: TensorSpec[] = [], opset = 13): GraphSpec {
  return { opset, inputs: [{ name: 'x', dims: input }], outputs: [{ name: 'y', dims: output }], nodes, initializers };
}
