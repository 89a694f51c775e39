/**
 * Reads an .onnx file into a typed, plain model: nodes with their attributes,
 * initializers as typed arrays, graph inputs with their shapes, the opset.
 * Every way a file can be unreadable (not protobuf, truncated, no graph,
 * external data, an opset outside the supported range) is an OnnxError
 * located in the file; nothing later has to re-check the wire format.
 */
import { OnnxError } from './onnx-error.js';
import { ONNX_ATTR, TO_OBJECT, onnxProto } from './onnx-proto.js';
import type { OnnxTensor, RawTensor } from './onnx-tensor.js';
import { TensorReadError, readTensor } from './onnx-tensor.js';

/**
 * Default-domain opsets the importer reads. 6 and up because the op
 * semantics modelpress maps have been stable since opset 6 (where they
 * changed later, the mapper reads the version: Clip 11, Pad 11, Softmax 13,
 * Reshape 5); Debian's PyTorch-converted test models are opset 6. 18 is the
 * newest opset whose ops this importer was checked against.
 */
export const MIN_OPSET = 6;
export const MAX_OPSET = 18;

export type OnnxAttr =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'other'; value: number };

export interface OnnxNode {
  /** Position in graph.node: the "line number" of a located error. */
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  /** Dimensions: a number, a symbolic name (e.g. "batch"), or undefined when unknown. */
  dims: (number | string | undefined)[] | undefined;
  elemType: number;
}

export interface OnnxModel {
  file: string;
  irVersion: number;
  /** The default-domain (ai.onnx) opset. */
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  /** Graph inputs that are not initializers: what the user feeds. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

interface RawAttr { name?: string; type?: number; f?: number; i?: number; s?: Uint8Array; t?: RawTensor; floats?: number[]; ints?: number[]; strings?: Uint8Array[] }
interface RawNode { input?: string[]; output?: string[]; name?: string; op_type?: string; domain?: string; attribute?: RawAttr[] }
interface RawValueInfo { name?: string; type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } } }
interface RawModel {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  graph?: { node?: RawNode[]; initializer?: RawTensor[]; sparse_initializer?: unknown[]; input?: RawValueInfo[]; output?: RawValueInfo[] };
}

const text = new TextDecoder();

/** Decodes `bytes` (the content of `file`) and checks what the importer relies on. */
export function readOnnxModel(bytes: Uint8Array, file: string): OnnxModel {
  const { ModelProto } = onnxProto();
  let raw: RawModel;
  try {
    raw = ModelProto.toObject(ModelProto.decode(bytes), TO_OBJECT) as RawModel;
  } catch (err) {
    // protobufjs says "index out of range: 812 + 10 > 820" (or just "index
    // out of range" inside packed fields) for a file that is cut off.
    const msg = String((err as Error).message);
    if (/index out of range/.test(msg)) {
      const m = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
      throw new OnnxError(
        m
          ? `the file is truncated: a field at byte ${m[1]} needs ${m[2]} more byte(s) but its message ends at byte ${m[3]} (file size ${bytes.length} bytes)`
          : `the file is truncated: a field runs past the end of its message (file size ${bytes.length} bytes)`,
        m ? { file, byteOffset: Number(m[1]) } : { file },
        ['copy or export the .onnx file again and compare its size with the original'],
        { cause: err },
      );
    }
    throw new OnnxError(`the file is not an ONNX model (protobuf decoding failed: ${(err as Error).message})`, { file }, [
      'give a file written by torch.onnx.export or onnx.save',
    ], { cause: err });
  }
  const graph = raw.graph;
  if (!graph || (graph.node ?? []).length === 0) {
    throw new OnnxError('the file holds no ONNX graph (no nodes): expected a ModelProto with a graph', { file }, [
      'give a file written by torch.onnx.export or onnx.save',
    ]);
  }
  const defaultOpset = (raw.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = Number(defaultOpset?.version ?? 0);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxError(
      `opset ${opset} is not supported: modelpress imports ai.onnx opsets ${MIN_OPSET} to ${MAX_OPSET}`,
      { file, opset },
      [`export with an opset in that range, e.g. torch.onnx.export(..., opset_version=13)`],
    );
  }
  if ((graph.sparse_initializer ?? []).length > 0) {
    throw new OnnxError('the graph has sparse initializers; modelpress reads dense initializers only', { file, opset });
  }
  const initializers = new Map<string, OnnxTensor>();
  for (const t of graph.initializer ?? []) {
    try {
      const tensor = readTensor(t);
      initializers.set(tensor.name, tensor);
    } catch (err) {
      if (!(err instanceof TensorReadError)) throw err;
      throw new OnnxError(err.message, { file, opset }, external(err));
    }
  }
  const nodes = (graph.node ?? []).map((n, index): OnnxNode => {
    const attrs = new Map<string, OnnxAttr>();
    for (const a of n.attribute ?? []) {
      try {
        attrs.set(a.name ?? '', readAttr(a));
      } catch (err) {
        if (!(err instanceof TensorReadError)) throw err;
        throw new OnnxError(err.message, { file, nodeIndex: index, nodeName: n.name, opType: n.op_type, opset }, external(err));
      }
    }
    return {
      index,
      name: n.name ?? '',
      opType: n.op_type ?? '',
      domain: n.domain ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attrs,
    };
  });
  return {
    file,
    irVersion: Number(raw.ir_version ?? 0),
    opset,
    producer: raw.producer_name ?? '',
    nodes,
    initializers,
    inputs: (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
  };
}

function external(err: Error): string[] {
  return /external file/.test(err.message)
    ? ['save the model with its weights inside: onnx.save_model(model, path, save_as_external_data=False), or torch.onnx.export of a model under 2 GB']
    : [];
}

function valueInfo(v: RawValueInfo): OnnxValueInfo {
  const tt = v.type?.tensor_type;
  const dims = tt?.shape?.dim?.map((d) => (d.dim_value !== undefined && Number(d.dim_value) > 0 ? Number(d.dim_value) : d.dim_param || undefined));
  return { name: v.name ?? '', dims, elemType: tt?.elem_type ?? 0 };
}

function readAttr(a: RawAttr): OnnxAttr {
  switch (a.type) {
    case ONNX_ATTR.FLOAT: return { type: 'float', value: a.f ?? 0 };
    case ONNX_ATTR.INT: return { type: 'int', value: Number(a.i ?? 0) };
    case ONNX_ATTR.STRING: return { type: 'string', value: text.decode(a.s ?? new Uint8Array()) };
    case ONNX_ATTR.FLOATS: return { type: 'floats', value: a.floats ?? [] };
    case ONNX_ATTR.INTS: return { type: 'ints', value: (a.ints ?? []).map(Number) };
    case ONNX_ATTR.STRINGS: return { type: 'strings', value: (a.strings ?? []).map((s) => text.decode(s)) };
    case ONNX_ATTR.TENSOR: return { type: 'tensor', value: readTensor(a.t ?? {}) };
    default: return { type: 'other', value: a.type ?? 0 };
  }
}

/** Reads a serialized TensorProto (the test data's input_0.pb / output_0.pb). */
export function readOnnxTensorFile(bytes: Uint8Array, file: string): OnnxTensor {
  const { TensorProto } = onnxProto();
  try {
    return readTensor(TensorProto.toObject(TensorProto.decode(bytes), TO_OBJECT) as RawTensor);
  } catch (err) {
    throw new OnnxError(`not a readable ONNX TensorProto: ${(err as Error).message}`, { file }, [], { cause: err });
  }
}
