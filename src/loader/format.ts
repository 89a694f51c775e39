/**
 * Constants of the packed format (see docs/packed-format.md) and the code ->
 * value decoders of each value kind. Shared by the writer
 * (src/formats/packed.ts) and the reader (./unpack.ts).
 */

/** "MPK" + format version byte. */
export const PACKED_MAGIC = [0x4d, 0x50, 0x4b] as const;
/**
 * The version the writer emits. 2 stores the topology JSON DEFLATE-compressed
 * (a LeNet-300-100's 1.6 KB topology becomes ~0.4 KB, 4% of its packed
 * file); 1 stored it as plain UTF-8. The reader reads both.
 */
export const PACKED_VERSION = 2;
/**
 * 3 adds the per-row affine kinds (`uint8Rows`, `uint16Rows`: one min and
 * scale per row, for embedding tables). The writer emits 3 only for a model
 * holding such a tensor, so every other file stays readable by loaders that
 * know versions 1 and 2 only.
 */
export const PACKED_VERSION_ROWS = 3;
export const PACKED_VERSIONS_READ: readonly number[] = [1, 2, 3];

/** How a tensor's stored codes map to values. */
export const ValueKind = {
  float32: 0,
  int32: 1,
  bool: 2,
  float16: 3,
  uint8: 4,
  uint16: 5,
  /** uint8 codes with a float64 min and scale per row (first axis); version >= 3. */
  uint8Rows: 6,
  /** uint16 codes with a float64 min and scale per row (first axis); version >= 3. */
  uint16Rows: 7,
} as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/** Bytes per stored code, by value kind. */
export const CODE_WIDTH: Readonly<Record<ValueKind, number>> = { 0: 4, 1: 4, 2: 1, 3: 2, 4: 1, 5: 2, 6: 1, 7: 2 };

/** Kinds whose affine parameters are per row (the record holds rows x {min, scale}). */
export function isRowKind(kind: ValueKind): kind is 6 | 7 {
  return kind === ValueKind.uint8Rows || kind === ValueKind.uint16Rows;
}

/** Per-tensor encodings. */
export const Encoding = {
  /** Codes as stored, little-endian. */
  raw: 0,
  /** Codebook + Huffman-coded index per element. */
  shared: 1,
  /** Huffman-coded gaps + the non-zero codes as stored. */
  sparse: 2,
  /** Huffman-coded gaps + codebook + Huffman-coded index per non-zero. */
  sparseShared: 3,
} as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

export const ENCODING_NAMES: Readonly<Record<Encoding, 'raw' | 'shared' | 'sparse' | 'sparse-shared'>> = {
  0: 'raw',
  1: 'shared',
  2: 'sparse',
  3: 'sparse-shared',
};

/** The dtype tfjs sees for a value kind after unpacking. */
export function outputDtype(kind: ValueKind): 'float32' | 'int32' | 'bool' {
  return kind === ValueKind.int32 ? 'int32' : kind === ValueKind.bool ? 'bool' : 'float32';
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * IEEE 754 binary16 bits -> the float32 bit pattern of the same value, as
 * tfjs-core's float16 decoder builds it (NaN payloads and signed zeros kept).
 */
export function float16ToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  scratchF32[0] = mant * 2 ** -24; // subnormal binary16: exact in float32
  return (sign | scratchU32[0]!) >>> 0;
}

/**
 * Codes -> the tensor's bytes as tfjs holds them (float32 / int32 little-endian,
 * bool one byte). Affine codes decode as tfjs does: `q * scale + min` in
 * float64, rounded to float32.
 */
export function decodeCodes(kind: ValueKind, codes: Uint32Array, min: number, scale: number): Uint8Array {
  const n = codes.length;
  switch (kind) {
    case ValueKind.float32:
    case ValueKind.int32: {
      const out = new Uint8Array(n * 4);
      const view = new DataView(out.buffer);
      for (let i = 0; i < n; i++) view.setUint32(i * 4, codes[i]!, true);
      return out;
    }
    case ValueKind.bool:
      return Uint8Array.from(codes);
    case ValueKind.float16: {
      const out = new Uint8Array(n * 4);
      const view = new DataView(out.buffer);
      for (let i = 0; i < n; i++) view.setUint32(i * 4, float16ToFloat32Bits(codes[i]!), true);
      return out;
    }
    case ValueKind.uint8:
    case ValueKind.uint16:
      return toBytes(Float32Array.from(codes, (q) => q * scale + min));
    case ValueKind.uint8Rows:
    case ValueKind.uint16Rows:
      throw new Error('decodeCodes: per-row kinds decode with decodeRowCodes');
  }
}

/**
 * Per-row affine codes -> float32 bytes. Codes are stored relative to their
 * row's zero point (so +0.0 is code 0 in every row, and one sparse encoding
 * fits all rows): element i of row r = floor(i / rowSize) has
 * `q = (code + zero[r]) mod (qmax + 1)` and decodes as `q * scale[r] + min[r]`
 * in float64, rounded to float32 (tfjs's per-tensor rule, row by row).
 */
export function decodeRowCodes(kind: ValueKind, codes: Uint32Array, rowMin: Float64Array, rowScale: Float64Array, rowZero: Uint32Array): Uint8Array {
  const levels = kind === ValueKind.uint16Rows ? 65536 : 256;
  const rows = rowMin.length;
  const size = rows === 0 ? 0 : codes.length / rows;
  const out = new Float32Array(codes.length);
  for (let r = 0; r < rows; r++) {
    const min = rowMin[r]!;
    const scale = rowScale[r]!;
    const zero = rowZero[r]!;
    for (let i = r * size, end = i + size; i < end; i++) out[i] = ((codes[i]! + zero) % levels) * scale + min;
  }
  return toBytes(out);
}

function toBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  // Copy the bits (setFloat32 may canonicalise NaNs; affine values are never NaN, but be exact).
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) view.setUint32(i * 4, bits[i]!, true);
  return out;
}
