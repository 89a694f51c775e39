/**
 * A TfliteGraph as .tflite bytes (a TFLite schema-3 flatbuffer, file
 * identifier TFL3), written with the `flatbuffers` package's Builder and the
 * field slots of schema.ts. buffers[0] is the empty sentinel every
 * activation tensor points at; each constant tensor gets its own buffer,
 * 16-byte aligned as the schema asks (so a runtime can map weights in place).
 *
 * Operator versions are the lowest that express each op with its tensor
 * types (older runtimes reject newer versions): see opVersion.
 */
import { Builder } from 'flatbuffers';
import type { GraphOp, GraphTensor, TensorDType, TfliteGraph } from './graph.js';
import { Activation, BuiltinOperator, BuiltinOptions, Padding, Slots, TensorType, TFLITE_FILE_IDENTIFIER, TFLITE_SCHEMA_VERSION } from './schema.js';
import type { OpName } from './schema.js';

const TYPE_CODE: Record<TensorDType, number> = { float32: TensorType.FLOAT32, int8: TensorType.INT8, int32: TensorType.INT32 };

/**
 * The lowest version of `op` that runs with an input of dtype `input`
 * (TFLite's op_version rules): float kernels are version 1; the int8 kernels
 * came later (FULLY_CONNECTED 4, CONV_2D / DEPTHWISE_CONV_2D 3 with
 * per-channel weights, the others 2).
 */
export function opVersion(op: OpName, input: TensorDType, output: TensorDType): number {
  if (op === 'RESHAPE') return 1;
  if (op === 'QUANTIZE') return input === 'int8' ? 2 : 1;
  if (op === 'DEQUANTIZE') return 2;
  if (input !== 'int8' && output !== 'int8') return 1;
  if (op === 'FULLY_CONNECTED') return 4;
  if (op === 'CONV_2D' || op === 'DEPTHWISE_CONV_2D') return 3;
  return 2;
}

function activationCode(a: 'none' | 'relu' | 'relu6'): number {
  return a === 'relu' ? Activation.RELU : a === 'relu6' ? Activation.RELU6 : Activation.NONE;
}

function bytesOf(data: NonNullable<GraphTensor['data']>): Uint8Array {
  // Little-endian, as the schema assumes; typed arrays are little-endian on every platform Node runs on.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes the builtin options table of `op`; returns [union type, offset] (offset 0 for none). */
function writeOptions(b: Builder, op: GraphOp): [number, number] {
  const o = op.options;
  switch (o.kind) {
    case 'conv': {
      const s = Slots.Conv2DOptions;
      b.startObject(6);
      b.addFieldInt8(s.padding, o.padding === 'same' ? Padding.SAME : Padding.VALID, -1);
      b.addFieldInt32(s.stride_w, o.strides[1], -1);
      b.addFieldInt32(s.stride_h, o.strides[0], -1);
      b.addFieldInt8(s.fused_activation_function, activationCode(o.activation), -1);
      return [BuiltinOptions.Conv2DOptions, b.endObject()];
    }
    case 'depthwise': {
      const s = Slots.DepthwiseConv2DOptions;
      b.startObject(7);
      b.addFieldInt8(s.padding, o.padding === 'same' ? Padding.SAME : Padding.VALID, -1);
      b.addFieldInt32(s.stride_w, o.strides[1], -1);
      b.addFieldInt32(s.stride_h, o.strides[0], -1);
      b.addFieldInt32(s.depth_multiplier, o.multiplier, -1);
      b.addFieldInt8(s.fused_activation_function, activationCode(o.activation), -1);
      return [BuiltinOptions.DepthwiseConv2DOptions, b.endObject()];
    }
    case 'pool': {
      const s = Slots.Pool2DOptions;
      b.startObject(6);
      b.addFieldInt8(s.padding, o.padding === 'same' ? Padding.SAME : Padding.VALID, -1);
      b.addFieldInt32(s.stride_w, o.strides[1], -1);
      b.addFieldInt32(s.stride_h, o.strides[0], -1);
      b.addFieldInt32(s.filter_width, o.size[1], -1);
      b.addFieldInt32(s.filter_height, o.size[0], -1);
      b.addFieldInt8(s.fused_activation_function, Activation.NONE, -1);
      return [BuiltinOptions.Pool2DOptions, b.endObject()];
    }
    case 'fc':
      b.startObject(1);
      b.addFieldInt8(Slots.FullyConnectedOptions.fused_activation_function, activationCode(o.activation), -1);
      return [BuiltinOptions.FullyConnectedOptions, b.endObject()];
    case 'softmax':
      b.startObject(1);
      b.addFieldFloat32(Slots.SoftmaxOptions.beta, o.beta, 0);
      return [BuiltinOptions.SoftmaxOptions, b.endObject()];
    case 'concat':
      b.startObject(2);
      b.addFieldInt32(Slots.ConcatenationOptions.axis, o.axis, -1);
      b.addFieldInt8(Slots.ConcatenationOptions.fused_activation_function, Activation.NONE, -1);
      return [BuiltinOptions.ConcatenationOptions, b.endObject()];
    case 'add':
      b.startObject(1);
      b.addFieldInt8(Slots.AddOptions.fused_activation_function, activationCode(o.activation), -1);
      return [BuiltinOptions.AddOptions, b.endObject()];
    case 'reshape': {
      const shape = int32Vector(b, o.shape);
      b.startObject(1);
      b.addFieldOffset(Slots.ReshapeOptions.new_shape, shape, 0);
      return [BuiltinOptions.ReshapeOptions, b.endObject()];
    }
    case 'mean':
      b.startObject(1);
      b.addFieldInt8(Slots.ReducerOptions.keep_dims, o.keepDims ? 1 : 0, -1);
      return [BuiltinOptions.ReducerOptions, b.endObject()];
    case 'none':
      return [BuiltinOptions.NONE, 0];
  }
}

function int32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function floatVector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
}

function int64Vector(b: Builder, values: readonly number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]!));
  return b.endVector();
}

function alignedBytes(b: Builder, bytes: Uint8Array, alignment: number): number {
  b.startVector(1, bytes.length, alignment);
  for (let i = bytes.length - 1; i >= 0; i--) b.addInt8(bytes[i]! << 24 >> 24);
  return b.endVector();
}

/** Serializes `graph` (one subgraph) as .tflite bytes. `description` goes into Model.description. */
export function writeTflite(graph: TfliteGraph, description = 'modelpress'): Uint8Array {
  const b = new Builder(1024);

  // Buffers: 0 is the empty sentinel; then one per constant tensor.
  const bufferOf = new Map<number, number>();
  const bufferOffsets: number[] = [];
  b.startObject(1);
  bufferOffsets.push(b.endObject());
  graph.tensors.forEach((t, i) => {
    if (!t.data) return;
    const data = alignedBytes(b, bytesOf(t.data), 16);
    b.startObject(1);
    b.addFieldOffset(Slots.Buffer.data, data, 0);
    bufferOf.set(i, bufferOffsets.push(b.endObject()) - 1);
  });

  const tensorOffsets = graph.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = int32Vector(b, t.shape);
    let quant = 0;
    if (t.quant) {
      const scale = floatVector(b, t.quant.scale);
      const zp = int64Vector(b, t.quant.zeroPoint);
      const s = Slots.QuantizationParameters;
      b.startObject(7);
      b.addFieldOffset(s.scale, scale, 0);
      b.addFieldOffset(s.zero_point, zp, 0);
      b.addFieldInt32(s.quantized_dimension, t.quant.dimension, 0);
      quant = b.endObject();
    }
    const s = Slots.Tensor;
    b.startObject(6);
    b.addFieldOffset(s.shape, shape, 0);
    b.addFieldInt8(s.type, TYPE_CODE[t.dtype], -1);
    b.addFieldInt32(s.buffer, bufferOf.get(i) ?? 0, -1);
    b.addFieldOffset(s.name, name, 0);
    if (quant) b.addFieldOffset(s.quantization, quant, 0);
    return b.endObject();
  });

  // One operator code per (op, version).
  const codes: { op: OpName; version: number }[] = [];
  const codeIndex = (op: OpName, version: number): number => {
    let i = codes.findIndex((c) => c.op === op && c.version === version);
    if (i < 0) i = codes.push({ op, version }) - 1;
    return i;
  };
  const operatorOffsets = graph.ops.map((op) => {
    const version = opVersion(op.op, graph.tensors[op.inputs[0]!]!.dtype, graph.tensors[op.outputs[0]!]!.dtype);
    const index = codeIndex(op.op, version);
    const inputs = int32Vector(b, op.inputs);
    const outputs = int32Vector(b, op.outputs);
    const [optType, opts] = writeOptions(b, op);
    const s = Slots.Operator;
    b.startObject(5);
    b.addFieldInt32(s.opcode_index, index, -1);
    b.addFieldOffset(s.inputs, inputs, 0);
    b.addFieldOffset(s.outputs, outputs, 0);
    if (opts) {
      b.addFieldInt8(s.builtin_options_type, optType, 0);
      b.addFieldOffset(s.builtin_options, opts, 0);
    }
    return b.endObject();
  });

  const tensorsVec = offsetVector(b, tensorOffsets);
  const inputsVec = int32Vector(b, graph.inputs);
  const outputsVec = int32Vector(b, graph.outputs);
  const opsVec = offsetVector(b, operatorOffsets);
  const sgName = b.createString('main');
  const sg = Slots.SubGraph;
  b.startObject(5);
  b.addFieldOffset(sg.tensors, tensorsVec, 0);
  b.addFieldOffset(sg.inputs, inputsVec, 0);
  b.addFieldOffset(sg.outputs, outputsVec, 0);
  b.addFieldOffset(sg.operators, opsVec, 0);
  b.addFieldOffset(sg.name, sgName, 0);
  const subgraph = b.endObject();

  const codeOffsets = codes.map((c) => {
    const s = Slots.OperatorCode;
    b.startObject(4);
    b.addFieldInt8(s.deprecated_builtin_code, BuiltinOperator[c.op], -1);
    b.addFieldInt32(s.version, c.version, -1);
    b.addFieldInt32(s.builtin_code, BuiltinOperator[c.op], -1);
    return b.endObject();
  });

  const codesVec = offsetVector(b, codeOffsets);
  const subgraphsVec = offsetVector(b, [subgraph]);
  const desc = b.createString(description);
  const buffersVec = offsetVector(b, bufferOffsets);
  const m = Slots.Model;
  b.startObject(6);
  b.addFieldInt32(m.version, TFLITE_SCHEMA_VERSION, -1);
  b.addFieldOffset(m.operator_codes, codesVec, 0);
  b.addFieldOffset(m.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(m.description, desc, 0);
  b.addFieldOffset(m.buffers, buffersVec, 0);
  b.finish(b.endObject(), TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}
