/**
 * The packed format writer: one binary file holding a tfjs model's topology
 * and every weight tensor in the smallest exact encoding of four (Deep
 * Compression's final step: sparse relative indices, shared codebooks,
 * Huffman coding). Byte layout: docs/packed-format.md. The reader is the
 * standalone loader in src/loader/ (`modelpress/loader`).
 *
 * Exactness: encodings work on the stored *codes* of each tensor (float32 bit
 * patterns, float16 bits, uint8/uint16 affine codes), so the unpacked values
 * are bit-for-bit what tfjs decodes from the source directory (-0, NaN
 * payloads and all). The "zero" that sparse encodings drop is the code that
 * decodes to +0.0 (bits 0 for floats; the nudged zero point for affine codes).
 */
import { deflateRawSync } from 'node:zlib';
import type { io } from '@tensorflow/tfjs';
import { readModelArtifacts } from '../engine/model-io.js';
import { readPacked } from '../loader/unpack.js';
import { CODE_WIDTH, ENCODING_NAMES, Encoding, PACKED_MAGIC, PACKED_VERSION, PACKED_VERSION_ROWS, ValueKind, isRowKind } from '../loader/format.js';
import { ByteWriter, codeLengths, codedBits, countSymbols, encodeSymbols, serializeTable, varintBytes } from './huffman.js';
import { decodeFloat32, rowsOf, splitWeights } from './weight-quantization.js';
import type { RowQuantizedManifestEntry, StoredWeight } from './weight-quantization.js';

export { unpack, readPacked } from '../loader/unpack.js';

/** Largest codebook considered for the shared encodings. */
export const MAX_CODEBOOK = 4096;
/** Gap widths tried for the sparse encodings. */
export const GAP_BITS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;

/** One tensor's line of the Deep Compression Table 2-like breakdown. */
export interface PackedTensorBreakdown {
  /** Weight name, e.g. `dense1/kernel`. */
  name: string;
  /** Layer name (the name up to its last `/`). */
  layer: string;
  shape: number[];
  /** Source storage: float32, float16, uint8, uint16, int32, bool. */
  source: keyof typeof ValueKind;
  encoding: 'raw' | 'shared' | 'sparse' | 'sparse-shared';
  weights: number;
  /** Elements whose code is not the +0 code. */
  nonZeros: number;
  /** 100 * nonZeros / weights. */
  keptPct: number;
  /** Value bits per stored value (per non-zero for sparse encodings, per element otherwise), after Huffman; codebook not included. */
  bitsPerWeight: number;
  /** Index bits per non-zero after Huffman (sparse encodings; 0 otherwise); tables not included. */
  bitsPerIndex: number;
  /** Gap symbol width for sparse encodings (0 otherwise). */
  gapBits: number;
  /** Codebook entries for shared encodings (0 otherwise). */
  codebook: number;
  /** Bytes of value data (the value stream; for shared: the index stream). */
  valueBytes: number;
  /** Bytes of the gap stream (sparse encodings). */
  indexBytes: number;
  /** Everything else of the record: name, shape, kind, encoding, counts, Huffman tables, codebook. */
  overheadBytes: number;
  /** The whole record: valueBytes + indexBytes + overheadBytes. */
  bytes: number;
}

export interface PackedLayerBreakdown {
  layer: string;
  weights: number;
  nonZeros: number;
  keptPct: number;
  /** Value stream bits / stored values over the layer's tensors. */
  bitsPerWeight: number;
  /** Gap stream bits / non-zeros over the layer's sparse tensors. */
  bitsPerIndex: number;
  bytes: number;
}

export interface PackedBreakdown {
  tensors: PackedTensorBreakdown[];
  layers: PackedLayerBreakdown[];
  /** Magic, version and tensor count. */
  headerBytes: number;
  /** The topology JSON and its length prefix. */
  topologyBytes: number;
  /** Sum of the tensor records. */
  tensorBytes: number;
  /** The file: headerBytes + topologyBytes + tensorBytes. */
  totalBytes: number;
  weights: number;
  nonZeros: number;
  keptPct: number;
  /** weights * 4: the weights as float32. */
  float32Bytes: number;
  /** float32Bytes / totalBytes. */
  compressionRatio: number;
}

export interface PackedModel {
  bytes: Uint8Array;
  breakdown: PackedBreakdown;
}

/** Packs a tfjs model directory (model.json + shards; float32 or quantized manifests). */
export async function packModel(dir: string): Promise<PackedModel> {
  return packArtifacts(await readModelArtifacts(dir));
}

/** The artifact fields kept in the topology section (everything but the weights). */
const META_KEYS = ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig'] as const;

/** Packs in-memory artifacts (as `readModelArtifacts` returns them). */
export function packArtifacts(artifacts: io.ModelArtifacts): PackedModel {
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new TypeError('packArtifacts: binary (graph-model protobuf) topologies are not supported');
  const meta: Record<string, unknown> = {};
  for (const key of META_KEYS) if (artifacts[key] != null) meta[key] = artifacts[key];
  const topo = new TextEncoder().encode(JSON.stringify(meta));
  const weights = splitWeights(artifacts);

  const w = new ByteWriter();
  for (const m of PACKED_MAGIC) w.u8(m);
  // The oldest version that can hold the model, so older loaders keep reading it.
  w.u8(weights.some((x) => (x.spec as RowQuantizedManifestEntry).rowQuantization) ? PACKED_VERSION_ROWS : PACKED_VERSION);
  // The JSON is DEFLATE-compressed (format v2): a layer's config repeats
  // the same keys and initializer blocks, which LZ77 matches remove
  // (LeNet-300-100: 1,578 -> ~420 bytes). Level 9 and zlib are deterministic.
  const deflated = deflateRawSync(topo, { level: 9 });
  w.varint(topo.byteLength);
  w.varint(deflated.byteLength);
  w.bytes(deflated);
  const topologyBytes = w.length - 4;
  w.varint(weights.length);
  const headerBytes = 4 + varintBytes(weights.length);

  const tensors: PackedTensorBreakdown[] = [];
  for (const weight of weights) {
    const start = w.length;
    const line = writeTensor(w, weight);
    tensors.push({ ...line, bytes: w.length - start, overheadBytes: w.length - start - line.valueBytes - line.indexBytes });
  }
  const bytes = w.finish();
  return { bytes, breakdown: summarize(tensors, headerBytes, topologyBytes, bytes.byteLength) };
}

// ---------------------------------------------------------------------------
// One tensor

interface Codes {
  kind: ValueKind;
  codes: Uint32Array;
  min: number;
  scale: number;
  /** The code decoding to +0.0, if any. */
  zero: number | undefined;
  /** Per-row kinds: each row's min, scale, and the zero point its codes are stored relative to. */
  rowMin?: Float64Array;
  rowScale?: Float64Array;
  rowZero?: Uint32Array;
}

/**
 * A per-row quantized entry's codes, recovered from its float32 values and
 * the `rowQuantization` extension; every value must decode back bit for bit
 * (else the entry was edited after quantization, and packing it as codes
 * would change the model).
 */
function rowCodes(weight: StoredWeight, rq: NonNullable<RowQuantizedManifestEntry['rowQuantization']>): Codes {
  const { spec } = weight;
  const values = decodeFloat32(weight);
  const rows = rowsOf(spec.shape);
  if (!values || spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: rowQuantization on a ${spec.dtype} entry`);
  if (rq.min.length !== rows || rq.scale.length !== rows) throw new Error(`weight ${spec.name}: rowQuantization has ${rq.min.length} mins and ${rq.scale.length} scales for ${rows} rows`);
  const qmax = rq.dtype === 'uint8' ? 255 : 65535;
  const size = rows === 0 ? 0 : values.length / rows;
  const codes = new Uint32Array(values.length);
  const rowMin = Float64Array.from(rq.min);
  const rowScale = Float64Array.from(rq.scale);
  const rowZero = new Uint32Array(rows);
  let everyRowHasZero = true;
  for (let r = 0; r < rows; r++) {
    const min = rowMin[r]!;
    const scale = rowScale[r]!;
    // Each row's zero point differs; storing codes relative to it makes +0.0
    // code 0 in every row, so a pruned table still gets the sparse encodings.
    const z = zeroCode(ValueKind[rq.dtype], min, scale);
    if (z === undefined) everyRowHasZero = false;
    const zp = z ?? 0;
    rowZero[r] = zp;
    for (let i = r * size; i < (r + 1) * size; i++) {
      const q = Math.round((values[i]! - min) / scale);
      if (!(q >= 0 && q <= qmax) || !Object.is(Math.fround(q * scale + min), values[i])) {
        throw new Error(`weight ${spec.name}: value ${values[i]} at ${i} is not on row ${r}'s ${rq.dtype} grid (min ${min}, scale ${scale}): the weights changed after quantization`);
      }
      codes[i] = (q - zp + qmax + 1) % (qmax + 1);
    }
  }
  return { kind: rq.dtype === 'uint8' ? ValueKind.uint8Rows : ValueKind.uint16Rows, codes, min: 0, scale: 1, zero: everyRowHasZero ? 0 : undefined, rowMin, rowScale, rowZero };
}

function tensorCodes(weight: StoredWeight): Codes {
  const { spec, bytes } = weight;
  const rq = (spec as RowQuantizedManifestEntry).rowQuantization;
  if (rq) return rowCodes(weight, rq);
  const q = spec.quantization;
  const read = (kind: ValueKind, min = 0, scale = 1): Codes => {
    const width = CODE_WIDTH[kind];
    const n = bytes.byteLength / width;
    const codes = new Uint32Array(n);
    for (let i = 0, p = 0; i < n; i++, p += width) {
      let v = 0;
      for (let k = width - 1; k >= 0; k--) v = v * 256 + bytes[p + k]!;
      codes[i] = v;
    }
    return { kind, codes, min, scale, zero: zeroCode(kind, min, scale) };
  };
  if (q) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: quantized ${spec.dtype} is not supported`);
    if (q.dtype === 'float16') return read(ValueKind.float16);
    if (q.dtype !== 'uint8' && q.dtype !== 'uint16') throw new Error(`weight ${spec.name}: unsupported quantization ${String(q.dtype)}`);
    if (q.min === undefined || q.scale === undefined) throw new Error(`weight ${spec.name}: ${q.dtype} quantization without min and scale`);
    return read(q.dtype === 'uint8' ? ValueKind.uint8 : ValueKind.uint16, q.min, q.scale);
  }
  switch (spec.dtype) {
    case 'float32':
      return read(ValueKind.float32);
    case 'int32':
      return read(ValueKind.int32);
    case 'bool':
      return read(ValueKind.bool);
    default:
      throw new Error(`weight ${spec.name}: dtype ${String(spec.dtype)} is not supported by the packed format`);
  }
}

function zeroCode(kind: ValueKind, min: number, scale: number): number | undefined {
  if (kind !== ValueKind.uint8 && kind !== ValueKind.uint16) return 0;
  const qmax = kind === ValueKind.uint8 ? 255 : 65535;
  const guess = Math.round(-min / scale);
  for (const c of [guess, guess - 1, guess + 1]) {
    if (c >= 0 && c <= qmax && Object.is(Math.fround(c * scale + min), 0)) return c;
  }
  return undefined;
}

/** A candidate encoding: its exact size and a writer. */
interface Candidate {
  encoding: Encoding;
  bytes: number;
  write: (w: ByteWriter) => Omit<PackedTensorBreakdown, 'bytes' | 'overheadBytes' | keyof Common>;
}
type Common = Pick<PackedTensorBreakdown, 'name' | 'layer' | 'shape' | 'source' | 'weights' | 'nonZeros' | 'keptPct'>;

function writeTensor(w: ByteWriter, weight: StoredWeight): Omit<PackedTensorBreakdown, 'bytes' | 'overheadBytes'> {
  const { spec } = weight;
  const c = tensorCodes(weight);
  const { codes, kind, zero } = c;
  const width = CODE_WIDTH[kind];
  const n = codes.length;
  let nnz = n;
  if (zero !== undefined) {
    nnz = 0;
    for (let i = 0; i < n; i++) if (codes[i] !== zero) nnz++;
  }
  const source = (Object.keys(ValueKind) as (keyof typeof ValueKind)[]).find((k) => ValueKind[k] === kind)!;
  const slash = spec.name.lastIndexOf('/');
  const common: Common = {
    name: spec.name,
    layer: slash < 0 ? spec.name : spec.name.slice(0, slash),
    shape: [...spec.shape],
    source,
    weights: n,
    nonZeros: nnz,
    keptPct: n === 0 ? 0 : (100 * nnz) / n,
  };

  // Record prefix: name, kind, affine params, shape, encoding byte.
  const name = new TextEncoder().encode(spec.name);
  w.varint(name.byteLength);
  w.bytes(name);
  w.u8(kind);
  if (kind === ValueKind.uint8 || kind === ValueKind.uint16) {
    w.f64(c.min);
    w.f64(c.scale);
  } else if (isRowKind(kind)) {
    w.varint(c.rowMin!.length);
    for (let r = 0; r < c.rowMin!.length; r++) {
      w.f64(c.rowMin![r]!);
      w.f64(c.rowScale![r]!);
      w.varint(c.rowZero![r]!);
    }
  }
  w.varint(spec.shape.length);
  for (const d of spec.shape) w.varint(d);

  const candidates: Candidate[] = [rawCandidate(codes, width)];
  const nonZeroValues = zero === undefined ? undefined : codes.filter((v) => v !== zero);
  const dense = codebookOf(codes);
  if (dense) candidates.push(sharedCandidate(codes, dense, width));
  if (zero !== undefined && nonZeroValues) {
    const gaps = bestGaps(codes, zero, nnz);
    candidates.push(sparseCandidate(gaps, zero, nonZeroValues, width, false));
    const book = codebookOf(nonZeroValues);
    if (book) candidates.push(sparseCandidate(gaps, zero, nonZeroValues, width, true, book));
  }
  // Smallest; ties: the simpler (lower-numbered) encoding.
  let best = candidates[0]!;
  for (const cand of candidates) if (cand.bytes < best.bytes) best = cand;
  w.u8(best.encoding);
  const before = w.length;
  const line = best.write(w);
  if (w.length - before !== best.bytes) throw new Error(`packed: ${spec.name}: size estimate ${best.bytes} != written ${w.length - before}`);
  return { ...common, ...line };
}

function rawCandidate(codes: Uint32Array, width: number): Candidate {
  return {
    encoding: Encoding.raw,
    bytes: codes.length * width,
    write: (w) => {
      w.codes(codes, width);
      return line('raw', { bitsPerWeight: width * 8, valueBytes: codes.length * width });
    },
  };
}

function line(
  encoding: PackedTensorBreakdown['encoding'],
  p: Partial<Pick<PackedTensorBreakdown, 'bitsPerWeight' | 'bitsPerIndex' | 'gapBits' | 'codebook' | 'valueBytes' | 'indexBytes'>>,
): Omit<PackedTensorBreakdown, 'bytes' | 'overheadBytes' | keyof Common> {
  return { encoding, bitsPerWeight: 0, bitsPerIndex: 0, gapBits: 0, codebook: 0, valueBytes: 0, indexBytes: 0, ...p };
}

/** Distinct codes sorted ascending, or undefined when more than MAX_CODEBOOK. */
function codebookOf(codes: Uint32Array): Uint32Array | undefined {
  const seen = new Set<number>();
  for (const v of codes) {
    seen.add(v);
    if (seen.size > MAX_CODEBOOK) return undefined;
  }
  return Uint32Array.from(seen).sort();
}

interface CodedStream {
  table: Uint8Array;
  lengths: Uint8Array;
  symbols: Uint32Array;
  bits: number;
  /** Bytes of the bit stream. */
  streamBytes: number;
}

function coded(symbols: Uint32Array, alphabet: number): CodedStream {
  const counts = countSymbols(symbols, alphabet);
  const lengths = codeLengths(counts);
  const bits = codedBits(counts, lengths);
  return { table: serializeTable(lengths), lengths, symbols, bits, streamBytes: Math.ceil(bits / 8) };
}

function indexStream(values: Uint32Array, book: Uint32Array): CodedStream {
  const at = new Map<number, number>();
  book.forEach((v, i) => at.set(v, i));
  return coded(Uint32Array.from(values, (v) => at.get(v)!), book.length);
}

function sharedCandidate(codes: Uint32Array, book: Uint32Array, width: number): Candidate {
  const idx = indexStream(codes, book);
  return {
    encoding: Encoding.shared,
    bytes: varintBytes(book.length) + book.length * width + idx.table.byteLength + idx.streamBytes,
    write: (w) => {
      w.varint(book.length);
      w.codes(book, width);
      w.bytes(idx.table);
      w.bytes(encodeSymbols(idx.symbols, idx.lengths));
      return line('shared', {
        codebook: book.length,
        bitsPerWeight: codes.length === 0 ? 0 : idx.bits / codes.length,
        valueBytes: idx.streamBytes,
      });
    },
  };
}

interface Gaps {
  gapBits: number;
  stream: CodedStream;
  /** Bytes of the whole index part: nnz, zero, gap bits, symbol count, table, stream. */
  bytes: number;
}

/** Gap symbols for width b: s < 2^b - 1 = "s zeros then a non-zero"; 2^b - 1 = "2^b - 1 zeros" (filler). */
function gapSymbols(codes: Uint32Array, zero: number, nnz: number, b: number): Uint32Array {
  const escape = (1 << b) - 1;
  const out: number[] = [];
  let run = 0;
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] === zero) {
      run++;
      continue;
    }
    while (run >= escape) {
      out.push(escape);
      run -= escape;
    }
    out.push(run);
    run = 0;
  }
  void nnz;
  return Uint32Array.from(out);
}

/** The gap width giving the smallest index part (Huffman-coded). */
function bestGaps(codes: Uint32Array, zero: number, nnz: number): Gaps {
  let best: Gaps | undefined;
  for (const b of GAP_BITS) {
    const symbols = gapSymbols(codes, zero, nnz, b);
    const stream = coded(symbols, 1 << b);
    const bytes = varintBytes(nnz) + varintBytes(zero) + 1 + varintBytes(symbols.length) + stream.table.byteLength + stream.streamBytes;
    if (!best || bytes < best.bytes) best = { gapBits: b, stream, bytes };
  }
  return best!;
}

function sparseCandidate(gaps: Gaps, zero: number, values: Uint32Array, width: number, shared: boolean, book?: Uint32Array): Candidate {
  const nnz = values.length;
  const idx = shared && book ? indexStream(values, book) : undefined;
  const valuePart = idx && book ? varintBytes(book.length) + book.length * width + idx.table.byteLength + idx.streamBytes : nnz * width;
  return {
    encoding: shared ? Encoding.sparseShared : Encoding.sparse,
    bytes: gaps.bytes + valuePart,
    write: (w) => {
      w.varint(nnz);
      w.varint(zero);
      w.u8(gaps.gapBits);
      w.varint(gaps.stream.symbols.length);
      w.bytes(gaps.stream.table);
      w.bytes(encodeSymbols(gaps.stream.symbols, gaps.stream.lengths));
      const common = {
        gapBits: gaps.gapBits,
        bitsPerIndex: nnz === 0 ? 0 : gaps.stream.bits / nnz,
        indexBytes: gaps.stream.streamBytes,
      };
      if (idx && book) {
        w.varint(book.length);
        w.codes(book, width);
        w.bytes(idx.table);
        w.bytes(encodeSymbols(idx.symbols, idx.lengths));
        return line('sparse-shared', { ...common, codebook: book.length, bitsPerWeight: nnz === 0 ? 0 : idx.bits / nnz, valueBytes: idx.streamBytes });
      }
      w.codes(values, width);
      return line('sparse', { ...common, bitsPerWeight: width * 8, valueBytes: nnz * width });
    },
  };
}

// ---------------------------------------------------------------------------
// Totals

function summarize(tensors: PackedTensorBreakdown[], headerBytes: number, topologyBytes: number, totalBytes: number): PackedBreakdown {
  const layers: PackedLayerBreakdown[] = [];
  const acc = new Map<string, { weights: number; nnz: number; valueBits: number; values: number; indexBits: number; indexed: number; bytes: number }>();
  for (const t of tensors) {
    let a = acc.get(t.layer);
    if (!a) {
      a = { weights: 0, nnz: 0, valueBits: 0, values: 0, indexBits: 0, indexed: 0, bytes: 0 };
      acc.set(t.layer, a);
    }
    const sparse = t.encoding === 'sparse' || t.encoding === 'sparse-shared';
    const stored = sparse ? t.nonZeros : t.weights;
    a.weights += t.weights;
    a.nnz += t.nonZeros;
    a.values += stored;
    a.valueBits += t.bitsPerWeight * stored;
    if (sparse) {
      a.indexed += t.nonZeros;
      a.indexBits += t.bitsPerIndex * t.nonZeros;
    }
    a.bytes += t.bytes;
  }
  for (const [layer, a] of acc) {
    layers.push({
      layer,
      weights: a.weights,
      nonZeros: a.nnz,
      keptPct: a.weights === 0 ? 0 : (100 * a.nnz) / a.weights,
      bitsPerWeight: a.values === 0 ? 0 : a.valueBits / a.values,
      bitsPerIndex: a.indexed === 0 ? 0 : a.indexBits / a.indexed,
      bytes: a.bytes,
    });
  }
  const weights = tensors.reduce((n, t) => n + t.weights, 0);
  const nonZeros = tensors.reduce((n, t) => n + t.nonZeros, 0);
  return {
    tensors,
    layers,
    headerBytes,
    topologyBytes,
    tensorBytes: tensors.reduce((n, t) => n + t.bytes, 0),
    totalBytes,
    weights,
    nonZeros,
    keptPct: weights === 0 ? 0 : (100 * nonZeros) / weights,
    float32Bytes: weights * 4,
    compressionRatio: totalBytes === 0 ? 0 : (weights * 4) / totalBytes,
  };
}

/** Re-reads a packed file's records into the encodings chosen (for reports and tests). */
export function packedEncodings(bytes: Uint8Array): { name: string; encoding: string }[] {
  return readPacked(bytes).tensors.map((t) => ({ name: t.name, encoding: ENCODING_NAMES[t.encoding] }));
}

/**
 * The breakdown as a Markdown table in the shape of Deep Compression's
 * Table 2: one row per tensor (weights, % kept, value bits, index bits,
 * encoding, bytes), then the totals with the file's fixed parts.
 */
export function breakdownMarkdown(b: PackedBreakdown): string {
  const rows = [
    '| tensor | encoding | weights | % kept | bits/weight | bits/index | codebook | bytes |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...b.tensors.map(
      (t) =>
        `| ${t.name} | ${t.encoding} | ${t.weights} | ${t.keptPct.toFixed(1)}% | ${t.bitsPerWeight.toFixed(2)} | ` +
        `${t.encoding.startsWith('sparse') ? t.bitsPerIndex.toFixed(2) : '-'} | ${t.codebook || '-'} | ${t.bytes} |`,
    ),
    `| header + topology | | | | | | | ${b.headerBytes + b.topologyBytes} |`,
    `| **total** | | ${b.weights} | ${b.keptPct.toFixed(1)}% | | | | **${b.totalBytes}** (${b.compressionRatio.toFixed(1)}x vs float32) |`,
  ];
  return rows.join('\n');
}
