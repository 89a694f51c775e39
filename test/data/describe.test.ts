import { csvLoader } from '../../src/data/csv.js';
import { describeDataset, describeLoaded } from '../../src/data/describe.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { idxLoader } from '../../src/data/idx.js';
import type { DatasetLoader } from '../../src/data/loader.js';
import { mnistLoader } from '../../src/data/mnist.js';
import { npyLoader } from '../../src/data/npy.js';
import { caught, idx, npy, useTempDir } from './helpers.js';

const tmp = useTempDir();

interface Case {
  name: string;
  loader: DatasetLoader<any>;
  files: () => Record<string, unknown>;
  expected: { shape: number[]; classes: number; examples: number };
}

// describe must equal what load returns (shape, classes, count), without reading the features.
const cases: Case[] = [
  {
    name: 'csv: features per row, largest label + 1',
    loader: csvLoader,
    files: () => ({ file: tmp.write('a.csv', '1,2,0\n3,4,2\n5,6,1\n') }),
    expected: { shape: [2], classes: 3, examples: 3 },
  },
  {
    name: 'idx: image records get a channel axis; limit and offset count',
    loader: idxLoader,
    files: () => ({ images: tmp.write('i.idx', idx('uint8', [4, 2, 3], new Array(24).fill(0))), labels: tmp.write('l.idx', idx('uint8', [4], [0, 1, 4, 2])), offset: 1, limit: 2 }),
    expected: { shape: [2, 3, 1], classes: 5, examples: 2 },
  },
  {
    name: 'npy: per-record shape, declared classes win',
    loader: npyLoader,
    files: () => ({ x: tmp.write('x.npy', npy('<f4', [3, 4, 4, 3], new Array(144).fill(0))), y: tmp.write('y.npy', npy('|u1', [3], [0, 1, 1])), classes: 6 }),
    expected: { shape: [4, 4, 3], classes: 6, examples: 3 },
  },
  {
    name: 'mnist: 10 classes, flattened on request',
    loader: mnistLoader,
    files: () => ({ split: 'test', limit: 20, flatten: true }),
    expected: { shape: [784], classes: 10, examples: 20 },
  },
];

describe('DatasetLoader.describe', () => {
  test.each(cases)('$name', async ({ loader, files, expected }) => {
    const options = files();
    const ctx = { baseDir: tmp.dir, hashes: new FileHashCache() };
    const d = await loader.describe!(options, ctx);
    expect(d).toEqual({ ...expected, dtype: 'float32', labelled: true });
    expect(d).toEqual(describeLoaded(await loader.load(options, ctx)));
  });

  test('a label >= declared classes is the same DataError as load gives, with file and record', async () => {
    const options = { images: tmp.write('i2.idx', idx('uint8', [2, 1], [0, 0])), labels: tmp.write('l2.idx', idx('uint8', [2], [0, 3])), classes: 3 };
    const ctx = { baseDir: tmp.dir, hashes: new FileHashCache() };
    const err = await caught(() => idxLoader.describe!(options, ctx));
    expect(err.message).toBe(`${options.labels}: record 1: label 3 is out of range (expected 0..2)`);
  });

  test('describeDataset falls back to a load for a loader without describe, and memoises per fingerprint', async () => {
    let loads = 0;
    const plain: DatasetLoader<any> = { ...csvLoader, describe: undefined, load: async (o, c) => (loads++, csvLoader.load(o, c)) };
    const options = { file: tmp.write('b.csv', '1,0\n2,1\n') };
    const ctx = { baseDir: tmp.dir, hashes: new FileHashCache() };
    expect(await describeDataset(plain, options, ctx)).toEqual({ shape: [1], dtype: 'float32', classes: 2, labelled: true, examples: 2 });
    await describeDataset(plain, options, ctx);
    expect(loads).toBe(1);
  });
});
