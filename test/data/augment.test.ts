import { describe, expect, it } from '@jest/globals';
import { imageGeometry, shiftImages } from '../../src/data/augment.js';
import { mulberry32 } from '../../src/data/dataset.js';

describe('imageGeometry', () => {
  it('reads [h, w, c], [h, w] and flat square shapes; refuses others', () => {
    expect(imageGeometry([28, 28, 1])).toEqual({ height: 28, width: 28, channels: 1 });
    expect(imageGeometry([32, 24])).toEqual({ height: 32, width: 24, channels: 1 });
    expect(imageGeometry([784])).toEqual({ height: 28, width: 28, channels: 1 });
    expect(imageGeometry([10])).toBeNull();
    expect(imageGeometry([2, 3, 4, 5])).toBeNull();
  });
});

describe('shiftImages', () => {
  // A 4x3 two-channel image whose values name their position: 100*y + 10*x + ch + 1.
  const g = { height: 4, width: 3, channels: 2 };
  const image = () => Float32Array.from({ length: 24 }, (_, i) => 100 * Math.floor(i / 6) + 10 * Math.floor((i % 6) / 2) + (i % 2) + 1);
  const at = (a: Float32Array, y: number, x: number, ch: number) => a[(y * 3 + x) * 2 + ch];

  it('moves every pixel by the drawn (dy, dx) and zero-fills the border', () => {
    // random() = 0.99 -> offset +1 for maxShift 1 (floor(0.99 * 3) - 1), for both dy and dx.
    const x = image();
    shiftImages(x, 1, g, 1, () => 0.99);
    for (let y = 0; y < 4; y++) {
      for (let c = 0; c < 3; c++) {
        for (let ch = 0; ch < 2; ch++) {
          const expected = y >= 1 && c >= 1 ? 100 * (y - 1) + 10 * (c - 1) + ch + 1 : 0;
          expect(at(x, y, c, ch)).toBe(expected);
        }
      }
    }
  });

  it('shifts up and left with negative offsets and leaves a zero shift alone', () => {
    const x = image();
    shiftImages(x, 1, g, 1, () => 0); // dy = dx = -1
    expect(at(x, 0, 0, 0)).toBe(100 + 10 + 1);
    expect(at(x, 3, 0, 0)).toBe(0);
    expect(at(x, 0, 2, 1)).toBe(0);
    const y = image();
    shiftImages(y, 1, g, 1, () => 0.5); // dy = dx = 0
    expect(y).toEqual(image());
  });

  it('draws a shift per image, within the bound, reproducibly from the seed', () => {
    const count = 200;
    const make = () => {
      const x = new Float32Array(count * 25);
      for (let n = 0; n < count; n++) x[n * 25 + 12] = 1; // a single lit pixel at the centre of a 5x5 image
      shiftImages(x, count, { height: 5, width: 5, channels: 1 }, 2, mulberry32(7));
      return x;
    };
    const a = make();
    expect(make()).toEqual(a);
    const seen = new Set<number>();
    for (let n = 0; n < count; n++) {
      const lit = a.subarray(n * 25, (n + 1) * 25).findIndex((v) => v === 1);
      expect(lit).toBeGreaterThanOrEqual(0); // a shift of at most 2 keeps the centre pixel inside
      seen.add(lit);
    }
    expect(seen.size).toBe(25); // every offset in [-2, 2]^2 occurs
  });
});
