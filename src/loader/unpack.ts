/**
 * Packed file -> tfjs ModelArtifacts (float32 / int32 / bool weights, one
 * weightData buffer). Byte layout: docs/packed-format.md.
 */
import type { io } from '@tensorflow/tfjs-core';
import { ByteReader, PackedFormatError } from './bytes.js';
import { decodeSymbols, readTable } from './huffman-decode.js';
import { inflateRaw } from './inflate.js';
import { CODE_WIDTH, Encoding, PACKED_MAGIC, PACKED_VERSION_ROWS, PACKED_VERSIONS_READ, ValueKind, decodeCodes, decodeRowCodes, isRowKind, outputDtype } from './format.js';

/** One tensor record as read from a packed file, before value decoding. */
export interface PackedTensorRecord {
  name: string;
  shape: number[];
  kind: ValueKind;
  /** Affine kinds only (else 0 and 1). */
  min: number;
  scale: number;
  /** Per-row kinds only: each row's min, scale and zero point (first axis); `codes` are then relative to the row's zero point. */
  rowMin?: Float64Array;
  rowScale?: Float64Array;
  rowZero?: Uint32Array;
  encoding: Encoding;
  /** The stored codes of every element. */
  codes: Uint32Array;
  /** Byte offsets of the record in the file: [start, end). */
  start: number;
  end: number;
}

export interface PackedContents {
  /** The topology JSON object: modelTopology, format, generatedBy, ... */
  meta: Record<string, unknown>;
  tensors: PackedTensorRecord[];
  /** Bytes before the first tensor record: magic, version, topology, tensor count. */
  headerBytes: number;
}

/** Parses a packed file into its records (codes, not yet values). */
export function readPacked(data: Uint8Array): PackedContents {
  const r = new ByteReader(data);
  for (const m of PACKED_MAGIC) {
    if (r.u8() !== m) throw new PackedFormatError('not a modelpress packed model (bad magic)');
  }
  const version = r.u8();
  if (!PACKED_VERSIONS_READ.includes(version)) {
    const known = `${PACKED_VERSIONS_READ.slice(0, -1).join(', ')} and ${PACKED_VERSIONS_READ[PACKED_VERSIONS_READ.length - 1]}`;
    throw new PackedFormatError(`unsupported packed format version ${version} (this loader reads ${known}; newer files need a newer modelpress/loader)`);
  }
  const topoLength = r.varint();
  // v1: the UTF-8 bytes; v2: the same bytes as raw DEFLATE, with their compressed length.
  const topoBytes = version === 1 ? r.take(topoLength) : inflateRaw(r.take(r.varint()), topoLength);
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder().decode(topoBytes));
  } catch (error) {
    throw new PackedFormatError(`packed topology is not JSON: ${String(error)}`);
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new PackedFormatError('packed topology is not a JSON object');
  const count = r.varint();
  const headerBytes = r.pos;
  const tensors: PackedTensorRecord[] = [];
  for (let t = 0; t < count; t++) tensors.push(readRecord(r, version));
  if (r.pos !== data.byteLength) throw new PackedFormatError(`${data.byteLength - r.pos} trailing byte(s) after the last tensor`);
  return { meta: meta as Record<string, unknown>, tensors, headerBytes };
}

function readRecord(r: ByteReader, version: number): PackedTensorRecord {
  const start = r.pos;
  const name = new TextDecoder().decode(r.take(r.varint()));
  const kind = r.u8() as ValueKind;
  const width = CODE_WIDTH[kind];
  if (width === undefined || (isRowKind(kind) && version < PACKED_VERSION_ROWS)) throw new PackedFormatError(`tensor ${name}: unknown value kind ${kind} in a version ${version} file`);
  let min = 0;
  let scale = 1;
  let rowMin: Float64Array | undefined;
  let rowScale: Float64Array | undefined;
  let rowZero: Uint32Array | undefined;
  if (kind === ValueKind.uint8 || kind === ValueKind.uint16) {
    min = r.f64();
    scale = r.f64();
  } else if (isRowKind(kind)) {
    const rows = r.varint();
    rowMin = new Float64Array(rows);
    rowScale = new Float64Array(rows);
    rowZero = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) {
      rowMin[i] = r.f64();
      rowScale[i] = r.f64();
      rowZero[i] = r.varint();
      if (rowZero[i]! >= 1 << (8 * width)) throw new PackedFormatError(`tensor ${name}: row ${i}'s zero point ${rowZero[i]} does not fit ${8 * width}-bit codes`);
    }
  }
  const rank = r.varint();
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(r.varint());
  const size = shape.reduce((a, b) => a * b, 1);
  if (rowMin && rowMin.length !== (shape.length === 0 ? 1 : shape[0]!)) throw new PackedFormatError(`tensor ${name}: ${rowMin.length} row scales for shape [${shape.join(', ')}]`);
  const encoding = r.u8() as Encoding;
  let codes: Uint32Array;
  switch (encoding) {
    case Encoding.raw:
      codes = r.codes(size, width);
      break;
    case Encoding.shared: {
      const book = r.codes(r.varint(), width);
      codes = lookup(name, book, decodeSymbols(r, readTable(r), size));
      break;
    }
    case Encoding.sparse:
    case Encoding.sparseShared: {
      const nnz = r.varint();
      const zero = r.varint();
      const gapBits = r.u8();
      const positions = readPositions(name, r, nnz, gapBits, size);
      let values: Uint32Array;
      if (encoding === Encoding.sparse) {
        values = r.codes(nnz, width);
      } else {
        const book = r.codes(r.varint(), width);
        values = lookup(name, book, decodeSymbols(r, readTable(r), nnz));
      }
      codes = new Uint32Array(size);
      if (zero !== 0) codes.fill(zero);
      for (let i = 0; i < nnz; i++) codes[positions[i]!] = values[i]!;
      break;
    }
    default:
      throw new PackedFormatError(`tensor ${name}: unknown encoding ${String(encoding)}`);
  }
  return { name, shape, kind, min, scale, ...(rowMin && rowScale && rowZero ? { rowMin, rowScale, rowZero } : {}), encoding, codes, start, end: r.pos };
}

/** Gap symbols: s < 2^b - 1 = "s zeros, then a non-zero"; s = 2^b - 1 = "2^b - 1 zeros" (filler). */
function readPositions(name: string, r: ByteReader, nnz: number, gapBits: number, size: number): Uint32Array {
  if (gapBits < 1 || gapBits > 16) throw new PackedFormatError(`tensor ${name}: gap width ${gapBits} out of range`);
  const escape = (1 << gapBits) - 1;
  const positions = new Uint32Array(nnz);
  const symbols = decodeGapStream(r, nnz, escape);
  let pos = 0;
  let k = 0;
  for (const s of symbols) {
    if (s === escape) {
      pos += escape;
      continue;
    }
    pos += s;
    if (pos >= size) throw new PackedFormatError(`tensor ${name}: non-zero index ${pos} outside ${size} elements`);
    positions[k++] = pos;
    pos += 1;
  }
  return positions;
}

/** The gap stream: varint symbol count, Huffman table, Huffman bits. */
function decodeGapStream(r: ByteReader, nnz: number, escape: number): Uint32Array {
  const count = r.varint();
  const symbols = decodeSymbols(r, readTable(r), count);
  let nonEscapes = 0;
  for (const s of symbols) if (s !== escape) nonEscapes++;
  if (nonEscapes !== nnz) throw new PackedFormatError(`gap stream holds ${nonEscapes} non-zeros, expected ${nnz}`);
  return symbols;
}

function lookup(name: string, book: Uint32Array, indices: Uint32Array): Uint32Array {
  const out = new Uint32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = book[indices[i]!];
    if (v === undefined) throw new PackedFormatError(`tensor ${name}: codebook index ${indices[i]} >= ${book.length}`);
    out[i] = v;
  }
  return out;
}

/** A packed file -> ModelArtifacts as tfjs loads them (weights decoded to float32 / int32 / bool). */
export function unpack(bytes: ArrayBuffer | Uint8Array): io.ModelArtifacts {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const { meta, tensors } = readPacked(data);
  const parts = tensors.map((t) => (t.rowMin && t.rowScale && t.rowZero ? decodeRowCodes(t.kind, t.codes, t.rowMin, t.rowScale, t.rowZero) : decodeCodes(t.kind, t.codes, t.min, t.scale)));
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    weightData.set(p, o);
    o += p.byteLength;
  }
  const weightSpecs: io.WeightsManifestEntry[] = tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: outputDtype(t.kind) }));
  return { ...(meta as Partial<io.ModelArtifacts>), weightSpecs, weightData: weightData.buffer } as io.ModelArtifacts;
}
