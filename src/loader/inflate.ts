/**
 * Raw DEFLATE (RFC 1951) decoder, for the packed format's topology section.
 *
 * Why our own: the loader must stay dependency-free and synchronous (`unpack`
 * is sync; the browser's DecompressionStream is async only), and the writer
 * side is Node's zlib (`deflateRawSync`), so only decoding is needed here.
 * The topology is small (kilobytes), so a bit-at-a-time canonical Huffman
 * decoder is fast enough and easy to check.
 */
import { PackedFormatError } from './bytes.js';

/** LSB-first bit reader over the compressed bytes (DEFLATE's bit order). */
class Bits {
  pos = 0;
  private bit = 0;

  constructor(private readonly data: Uint8Array) {}

  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.data.byteLength) throw new PackedFormatError('deflate stream ends early');
      v |= ((this.data[this.pos]! >>> this.bit) & 1) << i;
      if (++this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
    return v;
  }

  /** Skips to the next byte boundary (stored blocks). */
  align(): void {
    if (this.bit !== 0) {
      this.bit = 0;
      this.pos++;
    }
  }
}

/** A canonical Huffman code as counts per length and symbols in code order. */
interface Code {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function buildCode(lengths: ArrayLike<number>): Code {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]!]!++;
  counts[0] = 0;
  const offsets = new Uint16Array(16);
  for (let len = 1; len < 16; len++) offsets[len] = offsets[len - 1]! + counts[len - 1]!;
  const symbols = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!;
    if (len !== 0) symbols[offsets[len]!++] = s;
  }
  return { counts, symbols };
}

/** Reads one symbol: Huffman codes are packed starting from their most significant bit. */
function decode(bits: Bits, code: Code): number {
  let value = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    value |= bits.read(1);
    const count = code.counts[len]!;
    if (value - first < count) return code.symbols[index + value - first]!;
    index += count;
    first = (first + count) << 1;
    value <<= 1;
  }
  throw new PackedFormatError('invalid Huffman code in deflate stream');
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order in which code-length code lengths are stored (RFC 1951 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

let fixed: { lit: Code; dist: Code } | undefined;
function fixedCodes(): { lit: Code; dist: Code } {
  if (!fixed) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = { lit: buildCode(lit), dist: buildCode(new Uint8Array(30).fill(5)) };
  }
  return fixed;
}

function dynamicCodes(bits: Bits): { lit: Code; dist: Code } {
  const hlit = bits.read(5) + 257;
  const hdist = bits.read(5) + 1;
  const hclen = bits.read(4) + 4;
  const clLengths = new Uint8Array(19);
  for (let i = 0; i < hclen; i++) clLengths[CL_ORDER[i]!] = bits.read(3);
  const cl = buildCode(clLengths);
  const lengths = new Uint8Array(hlit + hdist);
  for (let i = 0; i < lengths.length; ) {
    const sym = decode(bits, cl);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let repeat: number;
    let value = 0;
    if (sym === 16) {
      if (i === 0) throw new PackedFormatError('deflate: length repeat with no previous length');
      value = lengths[i - 1]!;
      repeat = 3 + bits.read(2);
    } else if (sym === 17) {
      repeat = 3 + bits.read(3);
    } else {
      repeat = 11 + bits.read(7);
    }
    if (i + repeat > lengths.length) throw new PackedFormatError('deflate: code lengths overflow');
    lengths.fill(value, i, i + repeat);
    i += repeat;
  }
  return { lit: buildCode(lengths.subarray(0, hlit)), dist: buildCode(lengths.subarray(hlit)) };
}

/** Inflates raw DEFLATE `data` that must decode to exactly `size` bytes. */
export function inflateRaw(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const bits = new Bits(data);
  let n = 0;
  const overflow = () => new PackedFormatError(`deflate stream decodes to more than the ${size} byte(s) declared`);
  let last = 0;
  while (!last) {
    last = bits.read(1);
    const type = bits.read(2);
    if (type === 0) {
      bits.align();
      if (bits.pos + 4 > data.byteLength) throw new PackedFormatError('deflate stream ends early');
      const len = data[bits.pos]! | (data[bits.pos + 1]! << 8);
      const nlen = data[bits.pos + 2]! | (data[bits.pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new PackedFormatError('deflate: stored block length check failed');
      bits.pos += 4;
      if (bits.pos + len > data.byteLength) throw new PackedFormatError('deflate stream ends early');
      if (n + len > size) throw overflow();
      out.set(data.subarray(bits.pos, bits.pos + len), n);
      n += len;
      bits.pos += len;
      continue;
    }
    if (type === 3) throw new PackedFormatError('deflate: invalid block type 3');
    const { lit, dist } = type === 1 ? fixedCodes() : dynamicCodes(bits);
    for (;;) {
      const sym = decode(bits, lit);
      if (sym < 256) {
        if (n >= size) throw overflow();
        out[n++] = sym;
      } else if (sym === 256) {
        break;
      } else {
        const li = sym - 257;
        if (li >= LENGTH_BASE.length) throw new PackedFormatError(`deflate: invalid length symbol ${sym}`);
        const len = LENGTH_BASE[li]! + bits.read(LENGTH_EXTRA[li]!);
        const di = decode(bits, dist);
        if (di >= DIST_BASE.length) throw new PackedFormatError(`deflate: invalid distance symbol ${di}`);
        const d = DIST_BASE[di]! + bits.read(DIST_EXTRA[di]!);
        if (d > n) throw new PackedFormatError('deflate: distance reaches before the start of the output');
        if (n + len > size) throw overflow();
        // Byte by byte: a match may overlap its own output (d < len).
        for (let k = 0; k < len; k++, n++) out[n] = out[n - d]!;
      }
    }
  }
  if (n !== size) throw new PackedFormatError(`deflate stream decodes to ${n} byte(s), ${size} declared`);
  return out;
}
