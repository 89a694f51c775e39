/**
 * The loader's inflate against Node's zlib: every block type zlib writes
 * (stored at level 0, fixed Huffman with Z_FIXED, dynamic Huffman otherwise),
 * overlapping matches, long inputs, and damaged streams.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { PackedFormatError } from '../../src/loader/bytes.js';
import { inflateRaw } from '../../src/loader/inflate.js';
import { mulberry32 } from '../../src/data/dataset.js';

function samples(): Record<string, Uint8Array> {
  const random = mulberry32(11);
  const text = JSON.stringify({ modelTopology: { class_name: 'Sequential', config: { layers: Array.from({ length: 40 }, (_, i) => ({ class_name: 'Dense', config: { name: `dense${i}`, units: 300 - i, activation: 'relu', kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg' } } } })) } } });
  return {
    empty: new Uint8Array(0),
    one: Uint8Array.of(42),
    json: new TextEncoder().encode(text),
    random: Uint8Array.from({ length: 70_000 }, () => Math.floor(random() * 256)), // incompressible: stored blocks even at level 9
    runs: Uint8Array.from({ length: 100_000 }, (_, i) => (i % 1000 < 900 ? 7 : i % 3)), // long overlapping matches
    skewed: Uint8Array.from({ length: 50_000 }, () => Math.floor(random() ** 4 * 40)),
  };
}

describe('inflateRaw', () => {
  test.each([
    ['level 0 (stored)', { level: 0 }],
    ['level 1', { level: 1 }],
    ['level 9 (dynamic)', { level: 9 }],
    ['fixed Huffman (Z_FIXED)', { level: 9, strategy: constants.Z_FIXED }],
    ['Huffman only', { level: 9, strategy: constants.Z_HUFFMAN_ONLY }],
  ])('decodes what zlib writes at %s', (_name, options) => {
    for (const [name, data] of Object.entries(samples())) {
      const packed = deflateRawSync(data, options);
      expect([name, inflateRaw(packed, data.byteLength)]).toEqual([name, data]);
    }
  });

  test('a wrong declared size or a damaged stream is a PackedFormatError, never garbage', () => {
    const data = samples().json!;
    const packed = deflateRawSync(data, { level: 9 });
    expect(() => inflateRaw(packed, data.byteLength - 1)).toThrow(/more than the \d+ byte\(s\) declared/);
    expect(() => inflateRaw(packed, data.byteLength + 1)).toThrow(/decodes to \d+ byte\(s\), \d+ declared/);
    expect(() => inflateRaw(packed.subarray(0, packed.byteLength >> 1), data.byteLength)).toThrow(PackedFormatError);
    expect(() => inflateRaw(Uint8Array.of(0b111), 10)).toThrow('deflate: invalid block type 3');
    // Flip bits all over the stream: each result is the original, or an error.
    for (let i = 0; i < packed.byteLength; i += 7) {
      const broken = Uint8Array.from(packed);
      broken[i]! ^= 0x5a;
      try {
        inflateRaw(broken, data.byteLength);
      } catch (error) {
        expect(error).toBeInstanceOf(PackedFormatError);
      }
    }
  });
});
