/**
 * Reads a .tflite file back into plain values, field by field, with the
 * same slots the writer uses (schema.ts): the tests' check that every field
 * lands where the schema says, and a way to inspect an exported file from
 * TypeScript (`readTflite(bytes)`). Reads what modelpress writes (one
 * subgraph, the options tables of schema.ts); other options are returned
 * as their union type only.
 */
import { ByteBuffer } from 'flatbuffers';
import { BuiltinOperator, BuiltinOptions, Slots, TFLITE_FILE_IDENTIFIER } from './schema.js';

export interface ReadTensor {
  name: string;
  shape: number[];
  type: number;
  buffer: number;
  quantization?: { scale: number[]; zeroPoint: number[]; quantizedDimension: number };
}

export interface ReadOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  /** The options table's fields by schema name (absent fields: the schema default). */
  options: Record<string, number | number[]>;
}

export interface ReadModel {
  identifier: string;
  version: number;
  description: string;
  operatorCodes: { builtinCode: number; deprecatedBuiltinCode: number; version: number; name: string }[];
  buffers: Uint8Array[];
  /** Byte offset of each buffer's data in the file (alignment checks). */
  bufferOffsets: number[];
  subgraphs: { name: string; tensors: ReadTensor[]; inputs: number[]; outputs: number[]; operators: ReadOperator[] }[];
}

const OP_NAMES = new Map<number, string>(Object.entries(BuiltinOperator).map(([k, v]) => [v, k]));

class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}
  private off(slot: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * slot);
  }
  has(slot: number): boolean {
    return this.off(slot) !== 0;
  }
  int8(slot: number, def = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readInt8(this.pos + o) : def;
  }
  uint8(slot: number, def = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readUint8(this.pos + o) : def;
  }
  int32(slot: number, def = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readInt32(this.pos + o) : def;
  }
  float32(slot: number, def = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readFloat32(this.pos + o) : def;
  }
  string(slot: number): string {
    const o = this.off(slot);
    return o ? (this.bb.__string(this.pos + o) as string) : '';
  }
  table(slot: number): Table | undefined {
    const o = this.off(slot);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }
  /** [start byte, length] of a vector field. */
  vector(slot: number): [number, number] {
    const o = this.off(slot);
    return o ? [this.bb.__vector(this.pos + o), this.bb.__vector_len(this.pos + o)] : [0, 0];
  }
  int32s(slot: number): number[] {
    const [s, n] = this.vector(slot);
    return Array.from({ length: n }, (_, i) => this.bb.readInt32(s + 4 * i));
  }
  floats(slot: number): number[] {
    const [s, n] = this.vector(slot);
    return Array.from({ length: n }, (_, i) => this.bb.readFloat32(s + 4 * i));
  }
  int64s(slot: number): number[] {
    const [s, n] = this.vector(slot);
    return Array.from({ length: n }, (_, i) => Number(this.bb.readInt64(s + 8 * i)));
  }
  tables(slot: number): Table[] {
    const [s, n] = this.vector(slot);
    return Array.from({ length: n }, (_, i) => new Table(this.bb, this.bb.__indirect(s + 4 * i)));
  }
}

function readOptions(type: number, t: Table | undefined): Record<string, number | number[]> {
  if (!t) return {};
  const pick = (slots: Record<string, number>, kinds: Record<string, 'i8' | 'i32' | 'f32' | 'i32s'>, defaults: Record<string, number> = {}): Record<string, number | number[]> =>
    Object.fromEntries(
      Object.entries(slots).map(([k, s]) => {
        const kind = kinds[k] ?? 'i32';
        const d = defaults[k] ?? 0;
        return [k, kind === 'i8' ? t.int8(s, d) : kind === 'f32' ? t.float32(s, d) : kind === 'i32s' ? t.int32s(s) : t.int32(s, d)];
      }),
    );
  const act = { fused_activation_function: 'i8' as const, padding: 'i8' as const };
  switch (type) {
    case BuiltinOptions.Conv2DOptions:
      return pick(Slots.Conv2DOptions, act, { dilation_w_factor: 1, dilation_h_factor: 1 });
    case BuiltinOptions.DepthwiseConv2DOptions:
      return pick(Slots.DepthwiseConv2DOptions, act, { dilation_w_factor: 1, dilation_h_factor: 1 });
    case BuiltinOptions.Pool2DOptions:
      return pick(Slots.Pool2DOptions, act);
    case BuiltinOptions.FullyConnectedOptions:
      return pick(Slots.FullyConnectedOptions, act);
    case BuiltinOptions.SoftmaxOptions:
      return pick(Slots.SoftmaxOptions, { beta: 'f32' });
    case BuiltinOptions.ConcatenationOptions:
      return pick(Slots.ConcatenationOptions, act);
    case BuiltinOptions.AddOptions:
      return pick(Slots.AddOptions, act);
    case BuiltinOptions.ReshapeOptions:
      return pick(Slots.ReshapeOptions, { new_shape: 'i32s' });
    case BuiltinOptions.ReducerOptions:
      return pick(Slots.ReducerOptions, { keep_dims: 'i8' });
    default:
      return {};
  }
}

/** Parses `bytes`; throws when the file identifier is not TFL3. */
export function readTflite(bytes: Uint8Array): ReadModel {
  const bb = new ByteBuffer(bytes);
  const identifier = bb.getBufferIdentifier();
  if (identifier !== TFLITE_FILE_IDENTIFIER) throw new Error(`not a .tflite file: file identifier ${JSON.stringify(identifier)}, expected "${TFLITE_FILE_IDENTIFIER}"`);
  const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const M = Slots.Model;
  const buffers = model.tables(M.buffers).map((t) => {
    const [s, n] = t.vector(Slots.Buffer.data);
    return { data: bytes.subarray(s, s + n), offset: s };
  });
  return {
    identifier,
    version: model.int32(M.version),
    description: model.string(M.description),
    operatorCodes: model.tables(M.operator_codes).map((t) => {
      const S = Slots.OperatorCode;
      const builtinCode = t.int32(S.builtin_code);
      const deprecatedBuiltinCode = t.int8(S.deprecated_builtin_code);
      const code = Math.max(builtinCode, deprecatedBuiltinCode);
      return { builtinCode, deprecatedBuiltinCode, version: t.int32(S.version, 1), name: OP_NAMES.get(code) ?? `#${code}` };
    }),
    buffers: buffers.map((b) => b.data),
    bufferOffsets: buffers.map((b) => b.offset),
    subgraphs: model.tables(M.subgraphs).map((sg) => {
      const S = Slots.SubGraph;
      return {
        name: sg.string(S.name),
        inputs: sg.int32s(S.inputs),
        outputs: sg.int32s(S.outputs),
        tensors: sg.tables(S.tensors).map((t) => {
          const T = Slots.Tensor;
          const q = t.table(T.quantization);
          const Q = Slots.QuantizationParameters;
          return {
            name: t.string(T.name),
            shape: t.int32s(T.shape),
            type: t.int8(T.type),
            buffer: t.int32(T.buffer),
            ...(q ? { quantization: { scale: q.floats(Q.scale), zeroPoint: q.int64s(Q.zero_point), quantizedDimension: q.int32(Q.quantized_dimension) } } : {}),
          };
        }),
        operators: sg.tables(S.operators).map((o) => {
          const O = Slots.Operator;
          const optionsType = o.uint8(O.builtin_options_type);
          return { opcodeIndex: o.int32(O.opcode_index), inputs: o.int32s(O.inputs), outputs: o.int32s(O.outputs), optionsType, options: readOptions(optionsType, o.table(O.builtin_options)) };
        }),
      };
    }),
  };
}
