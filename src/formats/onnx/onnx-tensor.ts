/**
 * ONNX tensors (initializers, Constant values, the test data's input_*.pb and
 * output_*.pb) as typed arrays. Float tensors become Float32Array; integer and
 * bool tensors become Float64Array, because their only use in an import is
 * shapes, axes and indices, which JS numbers hold exactly.
 */
import { ONNX_DTYPE } from './onnx-proto.js';

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** 'float32' for FLOAT/FLOAT16/DOUBLE sources, 'int' for integer and bool. */
  kind: 'float32' | 'int';
  data: Float32Array | Float64Array;
}

/** A decoded TensorProto as protobufjs's toObject gives it (keepCase). */
export interface RawTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  raw_data?: Uint8Array;
  data_location?: number;
  external_data?: { key?: string; value?: string }[];
}

/** Why a tensor cannot be read; the caller adds the location. */
export class TensorReadError extends Error {
  override readonly name = 'TensorReadError';
}

const DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
};

export function dtypeName(code: number): string {
  return DTYPE_NAMES[code] ?? `data type ${code}`;
}

/** Converts a TensorProto; refuses external data (the weights live in another file). */
export function readTensor(raw: RawTensor): OnnxTensor {
  const name = raw.name ?? '';
  const dims = (raw.dims ?? []).map(Number);
  const size = dims.reduce((a, b) => a * b, 1);
  if (raw.data_location === 1 || (raw.external_data?.length ?? 0) > 0) {
    const loc = raw.external_data?.find((e) => e.key === 'location')?.value;
    throw new TensorReadError(
      `tensor ${JSON.stringify(name)} keeps its data in an external file${loc ? ` (${loc})` : ''}; modelpress reads self-contained .onnx files only`,
    );
  }
  const dt = raw.data_type ?? 0;
  const bytes = raw.raw_data && raw.raw_data.length > 0 ? raw.raw_data : undefined;
  const view = bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  const need = (width: number): void => {
    if (view && view.byteLength !== size * width) {
      throw new TensorReadError(`tensor ${JSON.stringify(name)} has ${view.byteLength} bytes of raw data, expected ${size * width} for shape [${dims.join(', ')}] of ${dtypeName(dt)}`);
    }
  };
  const fromList = (list: number[] | undefined, kind: 'float32' | 'int'): OnnxTensor => {
    const values = list ?? [];
    if (values.length !== size) {
      throw new TensorReadError(`tensor ${JSON.stringify(name)} holds ${values.length} values, expected ${size} for shape [${dims.join(', ')}]`);
    }
    return { name, dims, kind, data: kind === 'float32' ? Float32Array.from(values) : Float64Array.from(values, Number) };
  };
  switch (dt) {
    case ONNX_DTYPE.FLOAT: {
      if (!view) return fromList(raw.float_data, 'float32');
      need(4);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat32(i * 4, true);
      return { name, dims, kind: 'float32', data: out };
    }
    case ONNX_DTYPE.DOUBLE: {
      if (!view) return fromList(raw.double_data, 'float32');
      need(8);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat64(i * 8, true);
      return { name, dims, kind: 'float32', data: out };
    }
    case ONNX_DTYPE.FLOAT16: {
      if (!view) return { name, dims, kind: 'float32', data: Float32Array.from(raw.int32_data ?? [], halfToFloat) };
      need(2);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return { name, dims, kind: 'float32', data: out };
    }
    case ONNX_DTYPE.INT64: {
      if (!view) return fromList(raw.int64_data, 'int');
      need(8);
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return { name, dims, kind: 'int', data: out };
    }
    case ONNX_DTYPE.INT32: case ONNX_DTYPE.INT8: case ONNX_DTYPE.UINT8: case ONNX_DTYPE.BOOL: {
      if (!view) return fromList(raw.int32_data, 'int');
      const width = dt === ONNX_DTYPE.INT32 ? 4 : 1;
      need(width);
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        out[i] = dt === ONNX_DTYPE.INT32 ? view.getInt32(i * 4, true) : dt === ONNX_DTYPE.INT8 ? view.getInt8(i) : view.getUint8(i);
      }
      return { name, dims, kind: 'int', data: out };
    }
    default:
      throw new TensorReadError(`tensor ${JSON.stringify(name)} is ${dtypeName(dt)}; modelpress reads FLOAT, DOUBLE, FLOAT16, INT64, INT32, INT8, UINT8 and BOOL tensors`);
  }
}

/** IEEE 754 half (as its 16 bits) to a JS number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
