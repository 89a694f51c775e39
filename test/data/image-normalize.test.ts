import { channelAffine, writeExample } from '../../src/data/image-normalize.js';
import type { ImageNormalize } from '../../src/data/image-normalize.js';
import { thrownBy } from './helpers.js';

/** Normalises one RGB pixel (0..255 values) and returns the 3 results. */
function pixel(normalize: ImageNormalize, rgb: [number, number, number]): number[] {
  const out = new Float32Array(3);
  writeExample(Float32Array.from(rgb), 1, 1, 3, channelAffine(normalize, 3), 'rgb', 'nhwc', out, 0);
  return Array.from(out);
}

describe('normalisation presets', () => {
  it.each<[string, ImageNormalize, [number, number, number], number[]]>([
    ['unit', 'unit', [0, 51, 255], [0, 0.2, 1]],
    ['symmetric', 'symmetric', [0, 127.5, 255], [-1, 0, 1]],
    // (v/255 - mean) / std per channel: (1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.5 - 0.406) / 0.225.
    ['imagenet', 'imagenet', [255, 0, 127.5], [(1 - 0.485) / 0.229, -0.456 / 0.224, (0.5 - 0.406) / 0.225]],
    ['explicit, one value for all channels', { mean: [0.5], std: [0.25] }, [0, 127.5, 255], [-2, 0, 2]],
    ['explicit per channel', { mean: [0, 0.5, 1], std: [1, 0.5, 0.25] }, [255, 255, 255], [1, 1, 0]],
  ])('%s', (_name, normalize, rgb, expected) => {
    pixel(normalize, rgb).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('imagenet on grey images uses the channel averages (mean 0.449, std 0.226)', () => {
    const out = new Float32Array(1);
    writeExample(Float32Array.from([255]), 1, 1, 1, channelAffine('imagenet', 1), 'rgb', 'nhwc', out, 0);
    expect(out[0]).toBeCloseTo((1 - 0.449) / 0.226, 5);
  });

  it.each<[ImageNormalize, 1 | 3, string]>([
    [{ mean: [0.1, 0.2], std: [1] }, 3, 'Expected normalize.mean to have 1 or 3 values (channels: 3), got 2'],
    [{ mean: [0.1], std: [1, 1, 1] }, 1, 'Expected normalize.std to have 1 value (channels: 1), got 3'],
    [{ mean: [0], std: [0] }, 3, 'Expected every normalize.std value to be > 0, got 0'],
  ])('%j with %d channel(s) is refused', (normalize, channels, message) => {
    expect(thrownBy(() => channelAffine(normalize, channels)).message).toBe(message);
  });
});

describe('channel order and layout', () => {
  // A 1x2 RGB image: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6), scaled by `unit` so values stay readable x 255.
  const px = Float32Array.from([1, 2, 3, 4, 5, 6].map((v) => v * 255));
  it.each<['rgb' | 'bgr', 'nhwc' | 'nchw', number[]]>([
    ['rgb', 'nhwc', [1, 2, 3, 4, 5, 6]],
    ['bgr', 'nhwc', [3, 2, 1, 6, 5, 4]],
    ['rgb', 'nchw', [1, 4, 2, 5, 3, 6]],
    ['bgr', 'nchw', [3, 6, 2, 5, 1, 4]],
  ])('%s %s', (order, layout, expected) => {
    const out = new Float32Array(8).fill(-9);
    writeExample(px, 1, 2, 3, channelAffine('unit', 3), order, layout, out, 1);
    // Written at offset 1; the values around it untouched.
    expect(out[0]).toBe(-9);
    expect(out[7]).toBe(-9);
    Array.from(out.subarray(1, 7)).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('mean/std are RGB even when the output is BGR', () => {
    const out = new Float32Array(3);
    writeExample(Float32Array.from([255, 255, 255]), 1, 1, 3, channelAffine({ mean: [1, 0, 0], std: [1] }, 3), 'bgr', 'nhwc', out, 0);
    expect(Array.from(out)).toEqual([1, 1, 0]);
  });
});
