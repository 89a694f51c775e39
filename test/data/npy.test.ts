import { npyLoader } from '../../src/data/npy.js';
import type { NpyOptions } from '../../src/data/npy.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { caught, npy, useTempDir } from './helpers.js';

const tmp = useTempDir();
const ctx = () => ({ baseDir: tmp.dir, hashes: new FileHashCache() });

// 3 records of shape (2, 2) float32, labels int64 (numpy's default integer).
const X = [0.5, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.25];
beforeAll(() => {
  tmp.write('x.npy', npy('<f4', [3, 2, 2], X));
  tmp.write('y.npy', npy('<i8', [3], [1, 0, 2]));
});

const load = (o: Partial<NpyOptions> = {}) => npyLoader.load({ x: 'x.npy', y: 'y.npy', ...o }, ctx());

describe('npy loader', () => {
  it('reads float32 features and int64 labels (normalize defaults to none)', async () => {
    const ds = await load();
    expect(Array.from(ds.x)).toEqual(X);
    expect(Array.from(ds.y)).toEqual([1, 0, 2]);
    expect(ds).toMatchObject({ count: 3, shape: [2, 2], classes: 3, name: 'npy:x.npy' });
  });

  it.each<[string, Partial<NpyOptions>, number[], number[]]>([
    ['limit', { limit: 1 }, X.slice(0, 4), [1]],
    ['offset', { offset: 2 }, X.slice(8), [2]],
    ['offset + limit', { offset: 1, limit: 1 }, X.slice(4, 8), [0]],
  ])('%s', async (_name, o, x, y) => {
    const ds = await load(o);
    expect(Array.from(ds.x)).toEqual(x);
    expect(Array.from(ds.y)).toEqual(y);
  });

  it.each<[string, Parameters<typeof npy>, Parameters<typeof npy>, Partial<NpyOptions>, number[], number[], number[]]>([
    ['uint8 with unit scaling', ['|u1', [2, 2], [0, 255, 51, 102]], ['|u1', [2], [1, 0]], { normalize: 'unit' }, [0, 1, 0.2, 0.4], [1, 0], [2]],
    ['float64 features, int32 labels of shape (N, 1)', ['<f8', [2, 1], [1.5, -3]], ['<i4', [2, 1], [0, 1]], {}, [1.5, -3], [0, 1], [1]],
    ['1-d features become shape [1]', ['<f4', [2], [1, 2]], ['<i4', [2], [0, 0]], {}, [1, 2], [0, 0], [1]],
    ['format version 2.0', ['<f4', [1, 2], [1, 2], { version: 2 }], ['|u1', [1], [3], { version: 2 }], {}, [1, 2], [3], [2]],
    ['float unit is min-max per feature', ['<f4', [2, 1], [-4, 6]], ['|u1', [2], [0, 1]], { normalize: 'unit' }, [0, 1], [0, 1], [1]],
    ['standard', ['<f4', [2, 1], [1, 3]], ['|u1', [2], [0, 1]], { normalize: 'standard' }, [-1, 1], [0, 1], [1]],
  ])('%s', async (_name, xArgs, yArgs, o, x, y, shape) => {
    tmp.write('a.npy', npy(...xArgs));
    tmp.write('b.npy', npy(...yArgs));
    const ds = await npyLoader.load({ x: 'a.npy', y: 'b.npy', ...o }, ctx());
    x.forEach((v, i) => expect(ds.x[i]).toBeCloseTo(v, 6));
    expect(ds.x.length).toBe(x.length);
    expect(Array.from(ds.y)).toEqual(y);
    expect(ds.shape).toEqual(shape);
  });

  it('fingerprint: stable, equal to load(), changes with one byte of either file', async () => {
    const bytes = npy('<f4', [3, 2, 2], X);
    tmp.write('fx.npy', bytes);
    const o = { x: 'fx.npy', y: 'y.npy' };
    const a = await npyLoader.fingerprint(o, ctx());
    expect(await npyLoader.fingerprint(o, ctx())).toBe(a);
    expect((await npyLoader.load(o, ctx())).fingerprint).toBe(a);
    expect(await npyLoader.fingerprint({ ...o, limit: 2 }, ctx())).not.toBe(a);
    bytes[bytes.length - 1]! ^= 1;
    tmp.write('fx.npy', bytes);
    expect(await npyLoader.fingerprint(o, ctx())).not.toBe(a);
  });
});

describe('npy errors', () => {
  const cases: [string, (() => void) | undefined, Partial<NpyOptions>, string, Record<string, unknown>][] = [
    ['missing file', undefined, { y: 'none.npy' }, 'none.npy: no such file: {dir}/none.npy', { code: 'file-not-found' }],
    [
      'wrong magic number',
      () => tmp.write('e.npy', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0])),
      { x: 'e.npy' },
      'e.npy: wrong magic number 0x504b03040000: not an NPY file (expected \\x93NUMPY)',
      { code: 'bad-magic' },
    ],
    [
      'unsupported dtype (big-endian)',
      () => tmp.write('e.npy', npy('>f4', [3, 1], [1, 2, 3])),
      { x: 'e.npy' },
      "e.npy: unsupported dtype '>f4' for features (supported: '<f4', '<f8', '|u1', '<i4', '<i8')",
      { code: 'unsupported-dtype', hint: "convert in numpy, e.g. a.astype('<f4')" },
    ],
    [
      'unsupported label dtype',
      () => tmp.write('e.npy', npy('<i2', [3], [0, 1, 2])),
      { y: 'e.npy' },
      "e.npy: unsupported dtype '<i2' for labels (supported: '<i4', '<i8', '|u1')",
      { code: 'unsupported-dtype', hint: "convert in numpy, e.g. a.astype('<i4')" },
    ],
    [
      'structured dtype',
      () => tmp.write('e.npy', npy('<f4', [3], [], { rawHeader: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }" })),
      { x: 'e.npy' },
      'e.npy: unsupported dtype: a structured (record) array',
      { code: 'unsupported-dtype' },
    ],
    [
      'fortran order',
      () => tmp.write('e.npy', npy('<f4', [3, 2], [1, 2, 3, 4, 5, 6], { fortran: true })),
      { x: 'e.npy' },
      'e.npy: fortran_order is True: only C order is supported',
      { code: 'fortran-order', hint: 'save np.ascontiguousarray(a) instead' },
    ],
    [
      'truncated data',
      () => tmp.write('e.npy', npy('<f4', [3, 2, 2], X).subarray(0, 128 + 40)), // header padded to 128 bytes, as numpy does
      { x: 'e.npy' },
      'e.npy: truncated: expected 176 bytes, found 168',
      { code: 'truncated', hint: "the header announces shape (3, 2, 2) of <f4" },
    ],
    [
      'truncated header',
      () => tmp.write('e.npy', npy('<f4', [3, 2, 2], X).subarray(0, 30)),
      { x: 'e.npy' },
      'e.npy: truncated: expected at least 128 bytes, found 30',
      { code: 'truncated' },
    ],
    ['shorter than the preamble', () => tmp.write('e.npy', new Uint8Array([0x93, 0x4e])), { x: 'e.npy' }, 'e.npy: truncated: expected at least 10 bytes, found 2', { code: 'truncated' }],
    [
      'unparseable header',
      () => tmp.write('e.npy', npy('<f4', [1], [], { rawHeader: "{'descr': '<f4'}" })),
      { x: 'e.npy' },
      "e.npy: cannot parse the header: {'descr': '<f4'}",
      { code: 'bad-header' },
    ],
    [
      'label count differs',
      () => tmp.write('e.npy', npy('<i8', [2], [0, 1])),
      { y: 'e.npy' },
      'e.npy: has 2 labels but x.npy has 3 records',
      { code: 'mismatch' },
    ],
    [
      'label out of range',
      () => tmp.write('e.npy', npy('<i8', [3], [0, 1, 10])),
      { y: 'e.npy', classes: 10 },
      'e.npy: record 2: label 10 is out of range (expected 0..9)',
      { code: 'label-out-of-range', record: 2 },
    ],
    [
      'negative int32 label',
      () => tmp.write('e.npy', npy('<i4', [3], [0, -5, 1])),
      { y: 'e.npy' },
      'e.npy: record 1: label -5 is out of range (labels are class indices >= 0)',
      { code: 'label-out-of-range', record: 1 },
    ],
    [
      'labels of shape (N, 2)',
      () => tmp.write('e.npy', npy('<i4', [3, 2], [0, 0, 1, 1, 2, 2])),
      { y: 'e.npy' },
      'e.npy: expected labels of shape (N,) or (N, 1), found (3, 2)',
      { code: 'bad-header' },
    ],
  ];

  it.each(cases)('%s', async (_name, setup, o, message, fields) => {
    setup?.();
    const err = await caught(() => load(o));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(message.replace('{dir}', tmp.dir));
    expect(err).toMatchObject(fields);
  });
});
