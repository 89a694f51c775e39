/** Canonical Huffman coding: round trips, lengths, limits, table serialisation. */
import {
  ByteReader,
  ByteWriter,
  canonicalCodes,
  codeLengths,
  countSymbols,
  huffmanDecode,
  huffmanEncode,
  readTable,
  serializeTable,
} from '../../src/formats/huffman.js';
import { mulberry32 } from '../../src/data/dataset.js';

/** Deterministic PRNG: the project's mulberry32. */
const rng = mulberry32;

function roundTrip(symbols: Uint32Array, alphabet: number): Uint8Array {
  const bytes = huffmanEncode(symbols, alphabet);
  expect([...huffmanDecode(bytes, symbols.length)]).toEqual([...symbols]);
  return bytes;
}

describe('Huffman round trips', () => {
  test('uniform random symbols over 256: about 8 bits each', () => {
    const r = rng(1);
    const s = Uint32Array.from({ length: 5000 }, () => Math.floor(r() * 256));
    const bytes = roundTrip(s, 256);
    expect(bytes.byteLength).toBeLessThan(5000 * 1.01 + 140);
  });

  test('skewed (geometric) symbols code close to their entropy', () => {
    const r = rng(2);
    const s = Uint32Array.from({ length: 20000 }, () => Math.min(31, Math.floor(-Math.log(1 - r()) / 0.7)));
    const counts = countSymbols(s, 32);
    let entropyBits = 0;
    for (const c of counts) if (c > 0) entropyBits -= c * Math.log2(c / s.length);
    const bytes = roundTrip(s, 32);
    expect(bytes.byteLength * 8).toBeLessThan(entropyBits * 1.05 + 200);
  });

  test('single symbol: 0 bits per symbol; empty stream', () => {
    const one = roundTrip(new Uint32Array(1000).fill(7), 16);
    expect(one.byteLength).toBe(5); // the table only: n=8, mode 1, k=1, symbol 7, one nibble
    const empty = roundTrip(new Uint32Array(0), 16);
    expect([...empty]).toEqual([0]); // alphabet size 0
  });

  test('two symbols: 1 bit each', () => {
    const s = Uint32Array.from({ length: 800 }, (_, i) => (i % 3 === 0 ? 3 : 9));
    const bytes = roundTrip(s, 10);
    expect(bytes.byteLength).toBeLessThanOrEqual(100 + 10);
  });

  test('deterministic: same input, same bytes', () => {
    const r = rng(3);
    const s = Uint32Array.from({ length: 3000 }, () => Math.floor(r() * r() * 40));
    expect(huffmanEncode(s, 40)).toEqual(huffmanEncode(s.slice(), 40));
  });
});

describe('code lengths', () => {
  test('Fibonacci counts exceed 15 bits unlimited; limited to 15 and still a complete prefix code', () => {
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!);
    const lengths = codeLengths(fib, 15);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(15);
    const kraft = [...lengths].reduce((s, l) => s + 2 ** -l, 0);
    expect(kraft).toBeCloseTo(1, 12);
    const unlimited = codeLengths(fib, 40);
    expect(Math.max(...unlimited)).toBeGreaterThan(15);
    // round trip with the limited code
    const symbols: number[] = [];
    fib.forEach((c, s) => {
      for (let i = 0; i < Math.min(c, 50); i++) symbols.push(s);
    });
    roundTrip(Uint32Array.from(symbols), 30);
  });

  test('canonical codes: DEFLATE example (RFC 1951 3.2.2)', () => {
    // ABCDEFGH with lengths 3,3,3,3,3,2,4,4 -> 010,011,100,101,110,00,1110,1111
    const codes = canonicalCodes([3, 3, 3, 3, 3, 2, 4, 4]);
    expect([...codes]).toEqual([0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111]);
  });

  test('known lengths: counts 5,9,12,13,16,45 (CLRS)', () => {
    expect([...codeLengths([45, 13, 12, 16, 9, 5])]).toEqual([1, 3, 3, 3, 4, 4]);
  });
});

describe('table serialisation', () => {
  function tableRoundTrip(lengths: Uint8Array): Uint8Array {
    const bytes = serializeTable(lengths);
    const r = new ByteReader(bytes);
    const back = readTable(r);
    expect(r.pos).toBe(bytes.byteLength);
    let n = lengths.length;
    while (n > 0 && lengths[n - 1] === 0) n--;
    expect([...back]).toEqual([...lengths.subarray(0, n)]);
    return bytes;
  }

  test('dense table: one nibble per symbol', () => {
    const lengths = Uint8Array.from({ length: 32 }, (_, i) => 3 + (i % 5));
    expect(tableRoundTrip(lengths).byteLength).toBe(1 + 1 + 16);
  });

  test('sparse table over a big alphabet: listed symbols', () => {
    const lengths = new Uint8Array(4096);
    lengths[0] = 1;
    lengths[4095] = 2;
    lengths[2000] = 2;
    expect(tableRoundTrip(lengths).byteLength).toBeLessThan(12);
  });

  test('empty table', () => {
    expect(tableRoundTrip(new Uint8Array(10)).byteLength).toBe(1);
  });

  test('byte writer varints round trip', () => {
    const w = new ByteWriter();
    const values = [0, 1, 127, 128, 300, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    for (const v of values) w.varint(v);
    const r = new ByteReader(w.finish());
    expect(values.map(() => r.varint())).toEqual(values);
  });
});
