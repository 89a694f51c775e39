/**
 * Byte and bit readers for the packed format (no dependencies: this folder is
 * the standalone `modelpress/loader`).
 */

/** Thrown when a packed file is malformed or truncated. */
export class PackedFormatError extends Error {
  override readonly name = 'PackedFormatError';
}

/** Sequential little-endian reader over a byte array. */
export class ByteReader {
  pos = 0;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.byteLength) {
      throw new PackedFormatError(`packed data ends early: need ${n} byte(s) at offset ${this.pos}, have ${this.bytes.byteLength - this.pos}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 (up to 2^53). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new PackedFormatError(`varint too long at offset ${this.pos}`);
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A view (no copy) of the next `n` bytes. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** `n` codes of `width` bytes each, little-endian. */
  codes(n: number, width: number): Uint32Array {
    this.need(n * width);
    const out = new Uint32Array(n);
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let k = width - 1; k >= 0; k--) v = v * 256 + b[p + k]!;
      out[i] = v;
      p += width;
    }
    this.pos = p;
    return out;
  }
}

/** MSB-first bit reader starting at a byte reader's position; `finish()` moves the byte reader to the next whole byte. */
export class BitReader {
  private byte: number;
  private bit = 0;

  constructor(private readonly r: ByteReader) {
    this.byte = r.pos;
  }

  readBit(): number {
    if (this.byte >= this.r.bytes.byteLength) throw new PackedFormatError('packed bit stream ends early');
    const v = (this.r.bytes[this.byte]! >>> (7 - this.bit)) & 1;
    if (++this.bit === 8) {
      this.bit = 0;
      this.byte++;
    }
    return v;
  }

  finish(): void {
    this.r.pos = this.bit === 0 ? this.byte : this.byte + 1;
  }
}
