/**
 * Canonical Huffman decoding (the decoder half of src/formats/huffman.ts;
 * it lives here so that the standalone loader needs nothing else).
 *
 * Canonical codes: symbols sorted by (code length, symbol); the first gets
 * code 0 of its length, each next one the previous code + 1, shifted left
 * when the length grows (DEFLATE's rule, RFC 1951 3.2.2). Bits are MSB first.
 *
 * Table serialisation (`readTable`):
 *   varint n                      alphabet size (largest used symbol + 1; 0 = empty)
 *   if n > 0: u8 mode
 *     mode 0: ceil(n/2) bytes, one 4-bit length per symbol 0..n-1 (high nibble first)
 *     mode 1: varint k, k varint symbol gaps (first: symbol, then symbol - previous - 1),
 *             ceil(k/2) bytes of 4-bit lengths (1..15) of those k symbols
 * A table with exactly one used symbol codes it with 0 bits.
 */
import { BitReader, ByteReader, PackedFormatError } from './bytes.js';

export const MAX_CODE_LENGTH = 15;

/** Code lengths per symbol (0 = unused). */
export function readTable(r: ByteReader): Uint8Array {
  const n = r.varint();
  if (n === 0) return new Uint8Array(0);
  if (n > 1 << 24) throw new PackedFormatError(`Huffman alphabet of ${n} symbols is too large`);
  const lengths = new Uint8Array(n);
  const mode = r.u8();
  if (mode === 0) {
    const nib = r.take(Math.ceil(n / 2));
    for (let i = 0; i < n; i++) lengths[i] = i % 2 === 0 ? nib[i >> 1]! >>> 4 : nib[i >> 1]! & 15;
  } else if (mode === 1) {
    const k = r.varint();
    if (k > n) throw new PackedFormatError(`Huffman table lists ${k} symbols of an alphabet of ${n}`);
    const symbols: number[] = [];
    let prev = -1;
    for (let i = 0; i < k; i++) {
      prev = prev + 1 + r.varint();
      if (prev >= n) throw new PackedFormatError(`Huffman table symbol ${prev} outside alphabet of ${n}`);
      symbols.push(prev);
    }
    const nib = r.take(Math.ceil(k / 2));
    for (let i = 0; i < k; i++) lengths[symbols[i]!] = i % 2 === 0 ? nib[i >> 1]! >>> 4 : nib[i >> 1]! & 15;
  } else {
    throw new PackedFormatError(`unknown Huffman table mode ${mode}`);
  }
  return lengths;
}

/** Canonical code of each symbol (0 where unused). */
export function canonicalCodes(lengths: ArrayLike<number>): Uint32Array {
  const blCount = new Uint32Array(MAX_CODE_LENGTH + 1);
  for (let i = 0; i < lengths.length; i++) if (lengths[i]! > 0) blCount[lengths[i]!]!++;
  const next = new Uint32Array(MAX_CODE_LENGTH + 2);
  let code = 0;
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    code = (code + blCount[len - 1]!) << 1;
    if (len === 1) code = 0;
    next[len] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i]!;
    if (len > 0) codes[i] = next[len]!++;
  }
  return codes;
}

/** Decodes `count` symbols coded with `lengths` from the reader's position; leaves it at the next whole byte. */
export function decodeSymbols(r: ByteReader, lengths: Uint8Array, count: number): Uint32Array {
  const out = new Uint32Array(count);
  if (count === 0) return out;
  const perLength = new Uint32Array(MAX_CODE_LENGTH + 1);
  const used: number[] = [];
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len > MAX_CODE_LENGTH) throw new PackedFormatError(`Huffman code length ${len} > ${MAX_CODE_LENGTH}`);
    if (len > 0) {
      perLength[len]!++;
      used.push(s);
    }
  }
  if (used.length === 0) throw new PackedFormatError('Huffman table without symbols for a non-empty stream');
  if (used.length === 1) return out.fill(used[0]!);
  used.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const bits = new BitReader(r);
  for (let i = 0; i < count; i++) {
    let code = 0;
    let first = 0;
    let index = 0;
    let len = 1;
    for (; len <= MAX_CODE_LENGTH; len++) {
      code |= bits.readBit();
      const n = perLength[len]!;
      if (code - first < n) {
        out[i] = used[index + code - first]!;
        break;
      }
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
    if (len > MAX_CODE_LENGTH) throw new PackedFormatError('invalid Huffman code in packed data');
  }
  bits.finish();
  return out;
}
