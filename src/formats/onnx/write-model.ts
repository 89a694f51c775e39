/**
 * Writes ONNX ModelProto bytes from a small typed description: what the
 * exporter produces, and what tests use to build one-op models for the
 * import checks. Float tensors are stored as little-endian raw_data, int64
 * tensors (shapes) too, as onnx.save does.
 */
import { ONNX_ATTR, ONNX_DTYPE, onnxProto } from './onnx-proto.js';

export type AttrValue = { int: number } | { float: number } | { ints: number[] } | { floats: number[] } | { string: string };

export interface TensorSpec {
  name: string;
  dims: number[];
  /** float32 values, or int64 values (shapes, axes) with `int64: true`. */
  data: ArrayLike<number>;
  int64?: boolean;
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface GraphSpec {
  /** Default-domain opset. */
  opset: number;
  producer?: string;
  graphName?: string;
  /** Dims: numbers, or a name for a dynamic dim (e.g. "batch"). */
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  initializers: TensorSpec[];
  nodes: NodeSpec[];
}

const encoder = new TextEncoder();

/** TensorProto fields for `t` (raw_data little-endian). */
export function tensorProto(t: TensorSpec): Record<string, unknown> {
  const n = t.data.length;
  const bytes = new Uint8Array(n * (t.int64 ? 8 : 4));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    if (t.int64) view.setBigInt64(i * 8, BigInt(Math.trunc(t.data[i]!)), true);
    else view.setFloat32(i * 4, t.data[i]!, true);
  }
  return { name: t.name, dims: t.dims, data_type: t.int64 ? ONNX_DTYPE.INT64 : ONNX_DTYPE.FLOAT, raw_data: bytes };
}

function attrProto(name: string, v: AttrValue): Record<string, unknown> {
  if ('int' in v) return { name, type: ONNX_ATTR.INT, i: v.int };
  if ('float' in v) return { name, type: ONNX_ATTR.FLOAT, f: v.float };
  if ('ints' in v) return { name, type: ONNX_ATTR.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: ONNX_ATTR.FLOATS, floats: v.floats };
  return { name, type: ONNX_ATTR.STRING, s: encoder.encode(v.string) };
}

function valueInfo(v: { name: string; dims: (number | string)[] }): Record<string, unknown> {
  return {
    name: v.name,
    type: { tensor_type: { elem_type: ONNX_DTYPE.FLOAT, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** Encodes `spec` as an .onnx file's bytes (IR version 8). */
export function writeOnnxModel(spec: GraphSpec): Uint8Array {
  const { ModelProto } = onnxProto();
  const model = ModelProto.fromObject({
    ir_version: 8,
    producer_name: spec.producer ?? 'modelpress',
    opset_import: [{ domain: '', version: spec.opset }],
    graph: {
      name: spec.graphName ?? 'modelpress',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.opType}_${i}`,
        op_type: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrProto(k, v)),
      })),
      initializer: spec.initializers.map(tensorProto),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(model).finish();
}
