/**
 * Canonical Huffman coding of symbol streams (deterministic): code lengths
 * from counts with a length limit, canonical codes, a compact table
 * serialisation and an MSB-first bit writer. The decoder half lives in
 * src/loader/huffman-decode.ts (the standalone loader needs it) and is
 * re-exported here.
 */
import { ByteReader } from '../loader/bytes.js';
import { MAX_CODE_LENGTH, canonicalCodes, decodeSymbols, readTable } from '../loader/huffman-decode.js';

export { ByteReader, MAX_CODE_LENGTH, canonicalCodes, decodeSymbols, readTable };

/** Growable byte buffer with little-endian / LEB128 writers. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    let cap = this.buf.byteLength * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint needs a non-negative safe integer, got ${v}`);
    while (v >= 128) {
      this.u8((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.u8(v);
  }

  f64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.length, 8).setFloat64(0, v, true);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
  }

  /** Codes of `width` bytes each, little-endian. */
  codes(codes: ArrayLike<number>, width: number): void {
    this.ensure(codes.length * width);
    for (let i = 0; i < codes.length; i++) {
      let v = codes[i]!;
      for (let k = 0; k < width; k++) {
        this.buf[this.length++] = v & 0xff;
        v = Math.floor(v / 256);
      }
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Byte length of `v` as an unsigned LEB128 varint. */
export function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** MSB-first bit writer. */
export class BitWriter {
  private readonly out = new ByteWriter();
  private acc = 0;
  private nbits = 0;

  /** Writes the low `n` bits of `value` (n <= 24), most significant first. */
  write(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.nbits === 8) {
        this.out.u8(this.acc);
        this.acc = 0;
        this.nbits = 0;
      }
    }
  }

  /** The bytes, the last one padded with zero bits. */
  finish(): Uint8Array {
    if (this.nbits > 0) this.out.u8(this.acc << (8 - this.nbits));
    this.acc = 0;
    this.nbits = 0;
    return this.out.finish();
  }
}

/**
 * Huffman code lengths (0 for unused symbols) for `counts`, none longer than
 * `limit`. Ties are broken by symbol order, so equal counts give equal
 * lengths every run. A single used symbol gets length 1 (and is coded with 0
 * bits by `encodeSymbols`). When the optimal tree is deeper than `limit`,
 * counts are halved (keeping every used symbol >= 1) until it fits.
 */
export function codeLengths(counts: ArrayLike<number>, limit = MAX_CODE_LENGTH): Uint8Array {
  const n = counts.length;
  const lengths = new Uint8Array(n);
  const used: number[] = [];
  for (let s = 0; s < n; s++) if (counts[s]! > 0) used.push(s);
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0]!] = 1;
    return lengths;
  }
  if (used.length > 2 ** limit) throw new RangeError(`${used.length} symbols do not fit codes of at most ${limit} bits`);
  let weights = used.map((s) => counts[s]!);
  for (;;) {
    const depth = treeDepths(weights);
    let max = 0;
    for (const d of depth) if (d > max) max = d;
    if (max <= limit) {
      used.forEach((s, i) => (lengths[s] = depth[i]!));
      return lengths;
    }
    weights = weights.map((w) => Math.ceil(w / 2));
  }
}

/** Leaf depths of a Huffman tree over `weights` (two-queue construction, leaves first on ties). */
function treeDepths(weights: number[]): number[] {
  const m = weights.length;
  const order = weights.map((_, i) => i).sort((a, b) => weights[a]! - weights[b]! || a - b);
  // Nodes: 0..m-1 leaves (by original index), m.. internal.
  const weight: number[] = [...weights];
  const parent: number[] = new Array<number>(2 * m - 1).fill(-1);
  let li = 0; // next leaf in `order`
  const internal: number[] = [];
  let ii = 0;
  const pick = (): number => {
    if (li < m && (ii >= internal.length || weight[order[li]!]! <= weight[internal[ii]!]!)) return order[li++]!;
    return internal[ii++]!;
  };
  for (let k = 0; k < m - 1; k++) {
    const a = pick();
    const b = pick();
    const node = m + k;
    weight[node] = weight[a]! + weight[b]!;
    parent[a] = node;
    parent[b] = node;
    internal.push(node);
  }
  // Depth of each node: the root is the last internal node; parents come after children.
  const depth: number[] = new Array<number>(2 * m - 1).fill(0);
  for (let node = 2 * m - 3; node >= 0; node--) depth[node] = depth[parent[node]!]! + 1;
  return depth.slice(0, m);
}

/** Total bits of coding `counts` with `lengths` (0 when a single symbol is used). */
export function codedBits(counts: ArrayLike<number>, lengths: ArrayLike<number>): number {
  let used = 0;
  let bits = 0;
  for (let s = 0; s < counts.length; s++) {
    if (counts[s]! > 0) {
      used++;
      bits += counts[s]! * lengths[s]!;
    }
  }
  return used <= 1 ? 0 : bits;
}

/** Encodes symbols with canonical codes of `lengths`; a single-symbol table costs 0 bits. */
export function encodeSymbols(symbols: ArrayLike<number>, lengths: Uint8Array): Uint8Array {
  let used = 0;
  for (const l of lengths) if (l > 0) used++;
  if (used <= 1) {
    for (let i = 0; i < symbols.length; i++) {
      if (!(lengths[symbols[i]!]! > 0)) throw new RangeError(`symbol ${symbols[i]} has no code`);
    }
    return new Uint8Array(0);
  }
  const codes = canonicalCodes(lengths);
  const w = new BitWriter();
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    const len = lengths[s];
    if (!len) throw new RangeError(`symbol ${s} has no code`);
    w.write(codes[s]!, len);
  }
  return w.finish();
}

/** Serialises a code-length table (format: src/loader/huffman-decode.ts), the smaller of the two modes. */
export function writeTable(w: ByteWriter, lengths: Uint8Array): void {
  w.bytes(serializeTable(lengths));
}

export function serializeTable(lengths: Uint8Array): Uint8Array {
  let n = lengths.length;
  while (n > 0 && lengths[n - 1] === 0) n--;
  const out = new ByteWriter();
  out.varint(n);
  if (n === 0) return out.finish();
  const symbols: number[] = [];
  for (let s = 0; s < n; s++) {
    const l = lengths[s]!;
    if (l > MAX_CODE_LENGTH) throw new RangeError(`code length ${l} > ${MAX_CODE_LENGTH}`);
    if (l > 0) symbols.push(s);
  }
  const dense = 1 + Math.ceil(n / 2);
  let listed = 1 + varintBytes(symbols.length) + Math.ceil(symbols.length / 2);
  let prev = -1;
  for (const s of symbols) {
    listed += varintBytes(s - prev - 1);
    prev = s;
  }
  if (dense <= listed) {
    out.u8(0);
    out.bytes(nibbles(Array.from(lengths.subarray(0, n))));
  } else {
    out.u8(1);
    out.varint(symbols.length);
    prev = -1;
    for (const s of symbols) {
      out.varint(s - prev - 1);
      prev = s;
    }
    out.bytes(nibbles(symbols.map((s) => lengths[s]!)));
  }
  return out.finish();
}

function nibbles(values: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1]! |= i % 2 === 0 ? values[i]! << 4 : values[i]!;
  return out;
}

/** Symbol counts over an alphabet of `alphabet` symbols. */
export function countSymbols(symbols: ArrayLike<number>, alphabet: number): Uint32Array {
  const counts = new Uint32Array(alphabet);
  for (let i = 0; i < symbols.length; i++) counts[symbols[i]!]!++;
  return counts;
}

/** A self-contained coded stream: table + bits. Used by tests and simple callers. */
export function huffmanEncode(symbols: ArrayLike<number>, alphabet: number): Uint8Array {
  const lengths = codeLengths(countSymbols(symbols, alphabet));
  const w = new ByteWriter();
  writeTable(w, lengths);
  w.bytes(encodeSymbols(symbols, lengths));
  return w.finish();
}

/** Inverse of `huffmanEncode` (the symbol count is known to the caller). */
export function huffmanDecode(bytes: Uint8Array, count: number): Uint32Array {
  const r = new ByteReader(bytes);
  return decodeSymbols(r, readTable(r), count);
}
