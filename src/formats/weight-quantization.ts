/**
 * Weight storage quantization in the tfjs weights-manifest format: the bytes
 * and manifest entries that stock tfjs dequantizes when it loads a model
 * (tfjs-core `io.decodeWeights`). tfjs's own JS encoder never writes them, so
 * modelpress does, following the Python converter
 * (tfjs-converter/python/tensorflowjs/quantization.py, write_weights.py):
 *
 * - `uint8` / `uint16`: per-tensor affine, `value = q * scale + min`, with
 *   `quantization: {dtype, min, scale, original_dtype}`. The range is
 *   "nudged" (TF-Lite's NudgeQuantizationRange) so that 0.0 is one of the
 *   representable values when the range covers it: `scale = (max - min) /
 *   qmax`, `zp = round(-min / scale)`, `min' = -zp * scale`. tfjs decodes
 *   with float64 arithmetic, and `zp * scale + -(zp * scale)` is exactly +0,
 *   so pruned zeros come back as exactly 0.0 (never -0.0, never 1e-9).
 *   A constant tensor is stored as all-zero codes with `scale: 1, min: value`.
 *   Rounding is half-to-even (numpy's `np.round`).
 * - `float16`: IEEE 754 binary16, `quantization: {dtype: 'float16',
 *   original_dtype: 'float32'}`, rounded to nearest, ties to even, with
 *   subnormals, overflow to Inf, and NaN kept NaN.
 *
 * - per-row `uint8` / `uint16` (modelpress's extension, for embedding
 *   tables): each row (index on the first axis, e.g. one token) has its own
 *   affine range, computed exactly as above on that row alone. Stock tfjs
 *   manifests cannot express per-row scales, so the entry stores the
 *   dequantized values as float32 (what a loader computes from the codes,
 *   bit for bit) plus `rowQuantization: {dtype, min[], scale[]}`, which tfjs
 *   ignores and the packed writer (src/formats/packed.ts) turns back into
 *   1- or 2-byte codes with per-row parameters.
 *
 * Everything here is plain typed-array code (no tfjs): it runs the same on
 * every backend, so the stored bytes do not depend on the backend.
 * Multi-byte codes are written little-endian, which is what tfjs's
 * `new Uint16Array(buffer)` reads on every platform tfjs runs on.
 */
import type { io } from '@tensorflow/tfjs';

export type QuantizationDtype = 'uint8' | 'uint16' | 'float16';

/** The manifest's `quantization` field as modelpress writes it. */
export interface QuantizationSpec {
  dtype: QuantizationDtype;
  min?: number;
  scale?: number;
  original_dtype: 'float32';
}

export const QUANTIZATION_DTYPES: readonly QuantizationDtype[] = ['uint8', 'uint16', 'float16'];

/** Bytes per stored value. */
export const BYTES_PER_VALUE: Readonly<Record<QuantizationDtype | 'float32', number>> = {
  float32: 4,
  uint16: 2,
  float16: 2,
  uint8: 1,
};

const QMAX: Readonly<Record<'uint8' | 'uint16', number>> = { uint8: 255, uint16: 65535 };

// ---------------------------------------------------------------------------
// Rounding and the affine range

/** Round half to even (numpy's `np.round`, IEEE roundTiesToEven). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface AffineRange {
  /** Step between codes. */
  scale: number;
  /** The value of code 0 (nudged so that 0.0 is a code when 0 is in range). */
  min: number;
  /** The value of the top code (`qmax * scale + min`). */
  max: number;
}

/**
 * The converter's `_get_affine_quantization_range`: scale from the data's
 * range, then, when `min <= 0 <= max`, the range shifted by less than half a
 * step so that a code lands exactly on 0.0. Caller guarantees `min < max`.
 */
export function affineRange(min: number, max: number, dtype: 'uint8' | 'uint16'): AffineRange {
  const qmax = QMAX[dtype];
  const scale = (max - min) / qmax;
  if (min <= 0 && 0 <= max) {
    const zeroPoint = roundHalfEven((0 - min) / scale);
    // -(zp * scale), not (-zp) * scale written differently: the decoder's
    // zp * scale + min must cancel to exactly +0.
    const nudgedMin = -(zeroPoint * scale);
    return { scale, min: nudgedMin, max: qmax * scale + nudgedMin };
  }
  return { scale, min, max };
}

// ---------------------------------------------------------------------------
// One tensor

export interface QuantizedTensor {
  /** The stored bytes (little-endian codes). */
  bytes: Uint8Array;
  quantization: QuantizationSpec;
  /** What stock tfjs will decode from `bytes` (bit-exact with tfjs-core's decodeWeights). */
  dequantized: Float32Array;
  /** Largest |original - dequantized| over finite values (NaN and Inf are kept as such or saturate, see float16). */
  maxError: number;
}

/** Quantizes float32 values to `dtype`, as the Python converter would store them. */
export function quantizeTensor(values: Float32Array, dtype: QuantizationDtype): QuantizedTensor {
  if (dtype === 'float16') {
    // -0.0 (a -0 weight, or a tiny negative one underflowing) would keep its
    // sign bit: every zero is stored as +0.0, as the affine codes give.
    const codes = encodeFloat16(values).map((h) => (h === 0x8000 ? 0 : h));
    const dequantized = decodeFloat16(codes);
    return { bytes: codesToBytes(codes), quantization: { dtype, original_dtype: 'float32' }, dequantized, maxError: maxAbsError(values, dequantized) };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) throw new RangeError('cannot quantize NaN to an affine integer code');
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (values.length > 0 && (!Number.isFinite(lo) || !Number.isFinite(hi))) {
    throw new RangeError(`cannot quantize an infinite value to an affine integer code (range ${lo} .. ${hi})`);
  }
  const codes = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  let quantization: QuantizationSpec;
  if (values.length === 0 || lo === hi) {
    // The converter: "a single value: represent everything as zeros".
    quantization = { dtype, min: values.length === 0 ? 0 : plusZero(lo), scale: 1, original_dtype: 'float32' };
  } else {
    const range = affineRange(lo, hi, dtype);
    const qmax = QMAX[dtype];
    for (let i = 0; i < values.length; i++) {
      const v = Math.min(Math.max(values[i]!, range.min), range.max);
      const q = roundHalfEven((v - range.min) / range.scale);
      codes[i] = q < 0 ? 0 : q > qmax ? qmax : q;
    }
    quantization = { dtype, min: plusZero(range.min), scale: range.scale, original_dtype: 'float32' };
  }
  const dequantized = dequantizeAffine(codes, quantization.scale!, quantization.min!);
  return {
    bytes: codes instanceof Uint8Array ? codes : codesToBytes(codes),
    quantization,
    dequantized,
    maxError: maxAbsError(values, dequantized),
  };
}

/** tfjs-core's decode: `q * scale + min` in float64, stored as float32. */
export function dequantizeAffine(codes: ArrayLike<number>, scale: number, min: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale + min;
  return out;
}

/**
 * The manifest extension of a per-row quantized entry: row r (elements
 * r * rowSize .. (r + 1) * rowSize - 1, rowSize = product of shape[1..]) decodes
 * as `q * scale[r] + min[r]` in float64, rounded to float32.
 */
export interface RowQuantizationSpec {
  dtype: 'uint8' | 'uint16';
  min: number[];
  scale: number[];
}

export interface RowQuantizedTensor {
  /** Per element its code (row-major). */
  codes: Uint16Array;
  quantization: RowQuantizationSpec;
  /** What a reader decodes (per row, as tfjs decodes a per-tensor affine entry). */
  dequantized: Float32Array;
  /** Largest |original - dequantized| over the whole tensor. */
  maxError: number;
  /** Largest |original - dequantized| per row. */
  rowErrors: Float64Array;
}

/**
 * Quantizes each of `rows` rows of `values` on its own affine range. An
 * embedding's rows (tokens) differ in norm by an order of magnitude or more:
 * one range for the table spends most codes of a small-norm row on values
 * it never holds.
 */
export function quantizeRows(values: Float32Array, rows: number, dtype: 'uint8' | 'uint16'): RowQuantizedTensor {
  if (rows <= 0 || values.length % rows !== 0) throw new RangeError(`cannot split ${values.length} values into ${rows} equal rows`);
  const size = values.length / rows;
  const codes = new Uint16Array(values.length);
  const dequantized = new Float32Array(values.length);
  const min: number[] = [];
  const scale: number[] = [];
  const rowErrors = new Float64Array(rows);
  let maxError = 0;
  for (let r = 0; r < rows; r++) {
    const q = quantizeTensor(values.subarray(r * size, (r + 1) * size), dtype);
    const rowCodes = dtype === 'uint8' ? q.bytes : bytesToCodes(q.bytes);
    codes.set(rowCodes, r * size);
    dequantized.set(q.dequantized, r * size);
    min.push(q.quantization.min!);
    scale.push(q.quantization.scale!);
    rowErrors[r] = q.maxError;
    if (q.maxError > maxError) maxError = q.maxError;
  }
  return { codes, quantization: { dtype, min, scale }, dequantized, maxError, rowErrors };
}

/** Rows of a tensor of `shape` for per-row quantization: its first axis (1 for a scalar). */
export function rowsOf(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[0]!;
}

/** -0 as a JSON min reads back as 0 anyway; keep the in-memory value the same as what a reader sees. */
function plusZero(x: number): number {
  return x === 0 ? 0 : x;
}

function maxAbsError(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const d = Math.abs(x - y);
    if (d > m) m = d;
  }
  return m;
}

function codesToBytes(codes: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(codes.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < codes.length; i++) view.setUint16(i * 2, codes[i]!, true);
  return bytes;
}

function bytesToCodes(bytes: Uint8Array): Uint16Array {
  const codes = new Uint16Array(bytes.byteLength / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < codes.length; i++) codes[i] = view.getUint16(i * 2, true);
  return codes;
}

// ---------------------------------------------------------------------------
// IEEE 754 binary16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The binary16 bit pattern nearest to `x` (first rounded to float32, as the
 * value is a float32 weight), ties to even. Overflow gives ±Inf (values of
 * magnitude >= 65520 = 65504 + half a step), underflow ±0, NaN a quiet NaN
 * keeping the top payload bits.
 */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15; // the binary16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal binary16 (or zero): code = significand * 2^(e - 14).
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to 0
    const sig = mant | 0x800000;
    const shift = 14 - e; // 14 .. 24
    let h = sig >>> shift;
    const rem = sig & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++; // may carry into the smallest normal: still right
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach 0x7c00 (Inf): right too
  return sign | h;
}

/** The value of a binary16 bit pattern. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function encodeFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

export function decodeFloat16(codes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = float16BitsToFloat32(codes[i]!);
  return out;
}

// ---------------------------------------------------------------------------
// Whole weight groups

/** One manifest entry with its stored bytes. */
export interface StoredWeight {
  spec: io.WeightsManifestEntry;
  bytes: Uint8Array;
}

/** Stored size of one manifest entry (fixed-size dtypes; strings are walked). */
function storedBytes(spec: io.WeightsManifestEntry, data: Uint8Array, offset: number): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization) {
    const per = (BYTES_PER_VALUE as Record<string, number>)[spec.quantization.dtype];
    if (per === undefined) throw new Error(`weight ${spec.name}: unsupported quantization dtype ${spec.quantization.dtype}`);
    return size * per;
  }
  switch (spec.dtype) {
    case 'float32':
    case 'int32':
      return size * 4;
    case 'bool':
      return size;
    case 'complex64':
      return size * 8;
    case 'string': {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let n = 0;
      for (let i = 0; i < size; i++) n += 4 + view.getUint32(offset + n, true);
      return n;
    }
  }
  throw new Error(`weight ${spec.name}: unsupported dtype ${String(spec.dtype)}`);
}

/** Splits artifacts' weight data into one byte range per manifest entry (copies). */
export function splitWeights(artifacts: io.ModelArtifacts): StoredWeight[] {
  const specs = artifacts.weightSpecs ?? [];
  const data = joinData(artifacts.weightData);
  const out: StoredWeight[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = storedBytes(spec, data, offset);
    if (offset + n > data.byteLength) throw new Error(`weight data ends inside ${spec.name} (needs ${offset + n} bytes, has ${data.byteLength})`);
    out.push({ spec, bytes: data.slice(offset, offset + n) });
    offset += n;
  }
  if (offset !== data.byteLength) throw new Error(`weight specs describe ${offset} bytes, weight data holds ${data.byteLength}`);
  return out;
}

/**
 * The float32 values of a float32 entry as tfjs would load them (dequantized
 * when stored quantized), or undefined for other dtypes.
 */
export function decodeFloat32(weight: StoredWeight): Float32Array | undefined {
  const { spec, bytes } = weight;
  if (spec.dtype !== 'float32') return undefined;
  const q = spec.quantization;
  if (!q) {
    const out = new Float32Array(bytes.byteLength / 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  if (q.dtype === 'float16') return decodeFloat16(bytesToCodes(bytes));
  if (q.min === undefined || q.scale === undefined) throw new Error(`weight ${spec.name}: ${q.dtype} quantization without min and scale`);
  return dequantizeAffine(q.dtype === 'uint8' ? bytes : bytesToCodes(bytes), q.scale, q.min);
}

/** A float32 entry stored without quantization. */
export function float32Weight(name: string, shape: number[], values: Float32Array, group?: io.WeightGroup): StoredWeight {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  const spec: io.WeightsManifestEntry = { name, shape: [...shape], dtype: 'float32' };
  if (group != null) spec.group = group;
  return { spec, bytes };
}

/** A float32 entry stored quantized; the manifest entry the converter would write. */
export function quantizedWeight(name: string, shape: number[], q: QuantizedTensor, group?: io.WeightGroup): StoredWeight {
  const spec: io.WeightsManifestEntry = { name, shape: [...shape], dtype: 'float32' };
  if (group != null) spec.group = group;
  // tfjs's type lists dtype/min/scale only; original_dtype is the converter's
  // extra field, which tfjs ignores and readers of the manifest may use.
  spec.quantization = { ...q.quantization } as io.WeightsManifestEntry['quantization'];
  return { spec, bytes: q.bytes };
}

/**
 * A float32 entry holding per-row quantized values: the dequantized floats
 * (stock tfjs loads them as they are) and the `rowQuantization` extension
 * the packed writer stores as codes.
 */
export function rowQuantizedWeight(name: string, shape: number[], q: RowQuantizedTensor, group?: io.WeightGroup): StoredWeight {
  const w = float32Weight(name, shape, q.dequantized, group);
  (w.spec as RowQuantizedManifestEntry).rowQuantization = { dtype: q.quantization.dtype, min: [...q.quantization.min], scale: [...q.quantization.scale] };
  return w;
}

/** A manifest entry that may carry modelpress's per-row extension. */
export type RowQuantizedManifestEntry = io.WeightsManifestEntry & { rowQuantization?: RowQuantizationSpec };

/** Artifacts with new weights (same topology and metadata), ready for `writeModelArtifacts`. */
export function withWeights(artifacts: io.ModelArtifacts, weights: readonly StoredWeight[]): io.ModelArtifacts {
  const total = weights.reduce((n, w) => n + w.bytes.byteLength, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const w of weights) {
    data.set(w.bytes, offset);
    offset += w.bytes.byteLength;
  }
  return { ...artifacts, weightSpecs: weights.map((w) => w.spec), weightData: data.buffer };
}

function joinData(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = (Array.isArray(data) ? data : [data]).map((b) => new Uint8Array(b));
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
