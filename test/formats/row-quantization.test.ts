/**
 * Per-row affine quantization of embedding tables (issue 21): each token row
 * its own min and scale, stored in the packed format (v3 kinds uint8Rows /
 * uint16Rows) and read back by the browser-safe loader within half a step of
 * that row's own grid.
 */
import { packArtifacts } from '../../src/formats/packed.js';
import { float32Weight, quantizeRows, quantizeTensor, rowQuantizedWeight, withWeights } from '../../src/formats/weight-quantization.js';
import { readPacked, unpack } from '../../src/loader/index.js';

/** 64 rows x 16: row r has magnitude 10^(-2 + 3 r / 63), from 0.01 to 10 (as token norms spread in a trained table). */
function spreadTable(): Float32Array {
  const rows = 64;
  const dim = 16;
  const out = new Float32Array(rows * dim);
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let r = 0; r < rows; r++) {
    const mag = 10 ** (-2 + (3 * r) / (rows - 1));
    for (let c = 0; c < dim; c++) out[r * dim + c] = Math.fround(mag * rand());
  }
  return out;
}

function rowMaxErrors(a: Float32Array, b: Float32Array, rows: number): number[] {
  const size = a.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let m = 0;
    for (let i = r * size; i < (r + 1) * size; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  });
}

const artifactsWith = (weights: ReturnType<typeof float32Weight>[]) => withWeights({ modelTopology: { fake: true } }, weights);

describe('per-row quantization', () => {
  const table = spreadTable();

  test('each row within half its own step; far smaller errors than one range for the table on small rows', () => {
    const rows = quantizeRows(table, 64, 'uint8');
    const tensor = quantizeTensor(table, 'uint8');
    const perRow = rowMaxErrors(table, rows.dequantized, 64);
    const perTensor = rowMaxErrors(table, tensor.dequantized, 64);
    for (let r = 0; r < 64; r++) {
      // Half a step of the row's own grid (plus float32 rounding of the decoded value).
      expect(perRow[r]!).toBeLessThanOrEqual(rows.quantization.scale[r]! / 2 + 1e-6 * Math.abs(rows.quantization.min[r]!) + 1e-9);
      expect(perRow[r]!).toBeCloseTo(rows.rowErrors[r]!, 12);
    }
    // The 16 smallest rows: per-tensor's step (~20/255) dwarfs them; per-row error is ~1000x smaller there.
    for (let r = 0; r < 16; r++) expect(perRow[r]! * 100).toBeLessThan(perTensor[r]!);
    const mean = (e: number[]) => e.reduce((a, b) => a + b, 0) / e.length;
    expect(mean(perRow)).toBeLessThan(mean(perTensor) / 2);
    // Never worse than per-tensor on any row (beyond float rounding).
    for (let r = 0; r < 64; r++) expect(perRow[r]!).toBeLessThanOrEqual(perTensor[r]! + 1e-7);
  });

  test('packed as v3 codes + row scales, unpacked to exactly the dequantized floats; 1 byte a value plus 17 a row', () => {
    const q = quantizeRows(table, 64, 'uint8');
    const bias = float32Weight('emb2/bias', [16], new Float32Array(16).fill(0.5));
    const { bytes, breakdown } = packArtifacts(artifactsWith([rowQuantizedWeight('emb/embeddings', [64, 16], q), bias]));
    expect(bytes[3]).toBe(3);
    const rec = readPacked(bytes).tensors[0]!;
    expect(rec.kind).toBe(6);
    expect(Array.from(rec.rowScale!)).toEqual(q.quantization.scale);
    const out = new Float32Array(unpack(bytes).weightData as ArrayBuffer, 0, 64 * 16);
    expect(Array.from(out)).toEqual(Array.from(q.dequantized));
    const line = breakdown.tensors.find((t) => t.name === 'emb/embeddings')!;
    expect(line.source).toBe('uint8Rows');
    // 1,024 codes (or fewer, Huffman-coded) + 64 x (16 bytes of min/scale + a 1-byte zero point varint) + name/shape.
    expect(line.bytes).toBeLessThanOrEqual(1024 + 64 * 17 + 64);
    // Below float32 (4,096 bytes) even at 16 values a row, where the row parameters double the codes.
    expect(line.bytes).toBeLessThan(64 * 16 * 4);
  });

  test('uint16 rows, pruned zeros kept exact; models without per-row tensors stay version 2', () => {
    const pruned = Float32Array.from(table, (v, i) => (i % 3 === 0 ? 0 : v));
    const q = quantizeRows(pruned, 64, 'uint16');
    const { bytes } = packArtifacts(artifactsWith([rowQuantizedWeight('emb/embeddings', [64, 16], q)]));
    const out = new Float32Array(unpack(bytes).weightData as ArrayBuffer);
    for (let i = 0; i < out.length; i++) if (i % 3 === 0) expect(Object.is(out[i], 0)).toBe(true);
    expect(Math.max(...rowMaxErrors(pruned, out, 64).map((e, r) => e / q.quantization.scale[r]!))).toBeLessThanOrEqual(0.5 + 1e-3);
    expect(packArtifacts(artifactsWith([float32Weight('d/kernel', [4, 4], table.slice(0, 16))])).bytes[3]).toBe(2);
  });

  test('values moved off the row grid after quantization are refused, naming the tensor', () => {
    const q = quantizeRows(table, 64, 'uint8');
    const moved = rowQuantizedWeight('emb/embeddings', [64, 16], { ...q, dequantized: Float32Array.from(q.dequantized, (v, i) => (i === 5 ? v + 1e-3 : v)) });
    expect(() => packArtifacts(artifactsWith([moved]))).toThrow(/emb\/embeddings: value .* at 5 is not on row 0's uint8 grid/);
  });

  test('a pruned table keeps its sparse encoding per row: zeros are code 0 in every row', () => {
    // 90% zeros, every row holding both signs and 0.0 (each row's own zero point differs).
    const sparse = Float32Array.from(table, (v, i) => (i % 10 === 3 ? v : 0));
    const q = quantizeRows(sparse, 64, 'uint8');
    expect(new Set(q.quantization.min.map((m, r) => Math.round(-m / q.quantization.scale[r]!))).size).toBeGreaterThan(1);
    const { bytes, breakdown } = packArtifacts(artifactsWith([rowQuantizedWeight('emb/embeddings', [64, 16], q)]));
    const line = breakdown.tensors[0]!;
    expect(line.encoding.startsWith('sparse')).toBe(true);
    expect(line.nonZeros).toBe(sparse.filter((v) => v !== 0).length);
    const out = new Float32Array(unpack(bytes).weightData as ArrayBuffer);
    expect(Array.from(out)).toEqual(Array.from(q.dequantized));
    for (let i = 0; i < out.length; i++) if (sparse[i] === 0) expect(Object.is(out[i], 0)).toBe(true);
    // The codes: 1 byte per non-zero at most, plus the row parameters, plus the gap stream.
    expect(line.bytes).toBeLessThan(64 * 16 * 0.1 + 64 * 17 + 150);
  });
});
