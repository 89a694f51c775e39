/**
 * The ONNX protobuf schema, parsed once with protobufjs from the committed
 * onnx.proto (see onnx-schema.ts), and the raw message types decode/encode
 * work with. Nothing here knows what a Conv is: this file is the wire format.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO_SOURCE } from './onnx-schema.js';

export interface OnnxProtoTypes {
  ModelProto: protobuf.Type;
  TensorProto: protobuf.Type;
}

let types: OnnxProtoTypes | undefined;

/** The protobufjs types of onnx.proto, parsed on first use and memoized. */
export function onnxProto(): OnnxProtoTypes {
  if (!types) {
    // keepCase: the field names stay as in onnx.proto (raw_data, op_type), so
    // code reads like the ONNX spec it follows.
    const root = protobuf.parse(ONNX_PROTO_SOURCE, { keepCase: true }).root;
    types = { ModelProto: root.lookupType('onnx.ModelProto'), TensorProto: root.lookupType('onnx.TensorProto') };
  }
  return types;
}

/** TensorProto.DataType values modelpress reads or writes. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values. */
export const ONNX_ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** toObject options: int64 as JS numbers (dims and ints fit), bytes stay Uint8Array views. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, defaults: false };
