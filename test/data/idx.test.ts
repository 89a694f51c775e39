import { idxLoader } from '../../src/data/idx.js';
import type { IdxOptions } from '../../src/data/idx.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { caught, idx, useTempDir } from './helpers.js';

const tmp = useTempDir();
const ctx = () => ({ baseDir: tmp.dir, hashes: new FileHashCache() });

// 3 images of 2x2 uint8 pixels, labels 2, 0, 1.
const PIXELS = [0, 51, 102, 255, 10, 20, 30, 40, 255, 255, 0, 0];
beforeAll(() => {
  tmp.write('img.idx', idx('uint8', [3, 2, 2], PIXELS));
  tmp.write('lbl.idx', idx('uint8', [3], [2, 0, 1]));
});

const load = (o: Partial<IdxOptions> = {}) => idxLoader.load({ images: 'img.idx', labels: 'lbl.idx', ...o }, ctx());

describe('idx loader', () => {
  it('reads images and labels (normalize: none)', async () => {
    const ds = await load({ normalize: 'none' });
    expect(Array.from(ds.x)).toEqual(PIXELS);
    expect(Array.from(ds.y)).toEqual([2, 0, 1]);
    expect(ds).toMatchObject({ count: 3, shape: [2, 2, 1], classes: 3, name: 'idx:img.idx' });
    expect(ds.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('defaults to unit scaling (uint8 / 255)', async () => {
    const ds = await load();
    PIXELS.forEach((p, i) => expect(ds.x[i]).toBeCloseTo(p / 255, 6));
    expect(ds.x[3]).toBe(1);
  });

  it('standard: per-pixel zero mean, unit variance', async () => {
    const ds = await load({ normalize: 'standard' });
    // pixel 0 over the three images: 0, 10, 255 -> mean 88.33, population std 117.91
    const v = [0, 10, 255];
    const mean = (0 + 10 + 255) / 3;
    const std = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / 3);
    expect(ds.x[0]).toBeCloseTo((0 - mean) / std, 5);
    expect(ds.x[8]).toBeCloseTo((255 - mean) / std, 5);
  });

  it.each<[string, Partial<IdxOptions>, number[], number[], number[]]>([
    ['limit', { limit: 2 }, [0, 51, 102, 255, 10, 20, 30, 40], [2, 0], [2, 2, 1]],
    ['offset', { offset: 1 }, [10, 20, 30, 40, 255, 255, 0, 0], [0, 1], [2, 2, 1]],
    ['offset + limit', { offset: 1, limit: 1 }, [10, 20, 30, 40], [0], [2, 2, 1]],
    ['limit beyond the end is clipped', { offset: 2, limit: 10 }, [255, 255, 0, 0], [1], [2, 2, 1]],
    ['flatten', { flatten: true, limit: 1 }, [0, 51, 102, 255], [2], [4]],
  ])('%s', async (_name, o, x, y, shape) => {
    const ds = await load({ normalize: 'none', ...o });
    expect(Array.from(ds.x)).toEqual(x);
    expect(Array.from(ds.y)).toEqual(y);
    expect(ds.shape).toEqual(shape);
    expect(ds.count).toBe(y.length);
  });

  it('classes: explicit value wins over the largest label', async () => {
    expect((await load({ limit: 1 })).classes).toBe(3); // label 2
    expect((await load({ offset: 1, limit: 1 })).classes).toBe(1); // label 0: why `classes` exists
    expect((await load({ offset: 1, limit: 1, classes: 10 })).classes).toBe(10);
  });

  it.each<[string, Parameters<typeof idx>, number[], number[], 'none' | 'unit']>([
    ['2-d records keep their shape', ['uint8', [2, 3], [1, 2, 3, 4, 5, 6]], [1, 2, 3, 4, 5, 6], [3], 'none'],
    ['int16 big-endian', ['int16', [2, 1], [-300, 1000]], [-300, 1000], [1], 'none'],
    ['float32 big-endian', ['float32', [2, 1], [0.5, -2.25]], [0.5, -2.25], [1], 'none'],
    ['float64 big-endian', ['float64', [2, 1], [1.5, 3]], [1.5, 3], [1], 'none'],
    ['int8 unit maps -128..127 onto 0..1', ['int8', [2, 1], [-128, 127]], [0, 1], [1], 'unit'],
    ['float unit is min-max per feature', ['float32', [2, 1], [-4, 6]], [0, 1], [1], 'unit'],
  ])('%s', async (_name, args, x, shape, normalize) => {
    tmp.write('t.idx', idx(...args));
    tmp.write('t-lbl.idx', idx('uint8', [2], [0, 1]));
    const ds = await idxLoader.load({ images: 't.idx', labels: 't-lbl.idx', normalize }, ctx());
    expect(Array.from(ds.x)).toEqual(x);
    expect(ds.shape).toEqual(shape);
  });

  it('int32 labels', async () => {
    tmp.write('i32.idx', idx('int32', [3], [1, 0, 4]));
    const ds = await idxLoader.load({ images: 'img.idx', labels: 'i32.idx' }, ctx());
    expect(Array.from(ds.y)).toEqual([1, 0, 4]);
    expect(ds.classes).toBe(5);
  });
});

describe('idx fingerprint', () => {
  it('is stable across loads, equals load().fingerprint, and ignores spelled-out defaults', async () => {
    const a = await load();
    const b = await load();
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(await idxLoader.fingerprint({ images: 'img.idx', labels: 'lbl.idx' }, ctx())).toBe(a.fingerprint);
    expect(await idxLoader.fingerprint({ images: 'img.idx', labels: 'lbl.idx', normalize: 'unit', offset: 0, flatten: false }, ctx())).toBe(a.fingerprint);
  });

  it('changes with options that change the data', async () => {
    const fps = await Promise.all(
      [{}, { limit: 2 }, { offset: 1 }, { normalize: 'none' as const }, { flatten: true }, { classes: 4 }].map((o) =>
        idxLoader.fingerprint({ images: 'img.idx', labels: 'lbl.idx', ...o }, ctx()),
      ),
    );
    expect(new Set(fps).size).toBe(fps.length);
  });

  it('changes when one byte of a file changes, and not when the file moves', async () => {
    const bytes = idx('uint8', [3, 2, 2], PIXELS);
    tmp.write('copy.idx', bytes);
    const opts = { images: 'copy.idx', labels: 'lbl.idx' };
    const before = await idxLoader.fingerprint(opts, ctx());
    expect(before).toBe(await idxLoader.fingerprint({ images: 'img.idx', labels: 'lbl.idx' }, ctx()));
    bytes[bytes.length - 1] = 1;
    tmp.write('copy.idx', bytes);
    const after = await idxLoader.fingerprint(opts, ctx());
    expect(after).not.toBe(before);
    expect((await idxLoader.load(opts, ctx())).fingerprint).toBe(after);
  });
});

describe('idx errors', () => {
  const cases: [string, () => void, Partial<IdxOptions>, string, Record<string, unknown>][] = [
    ['missing images file', () => {}, { images: 'nope.idx' }, 'nope.idx: no such file: {dir}/nope.idx', { code: 'file-not-found' }],
    [
      'wrong magic number',
      () => tmp.write('e.idx', new Uint8Array([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0])),
      { images: 'e.idx' },
      'e.idx: wrong magic number 0x12340801: not an IDX file (expected 00 00, a type byte 08, 09, 0B, 0C, 0D or 0E, then the number of dimensions)',
      { code: 'bad-magic' },
    ],
    [
      'unknown type byte',
      () => tmp.write('e.idx', new Uint8Array([0, 0, 0x07, 0x01, 0, 0, 0, 0])),
      { images: 'e.idx' },
      'e.idx: wrong magic number 0x00000701: not an IDX file (expected 00 00, a type byte 08, 09, 0B, 0C, 0D or 0E, then the number of dimensions)',
      { code: 'bad-magic' },
    ],
    [
      'gzip-compressed file',
      () => tmp.write('e.idx', new Uint8Array([0x1f, 0x8b, 0x08, 0x08, 1, 2, 3, 4])),
      { images: 'e.idx' },
      'e.idx: wrong magic number 0x1f8b0808: not an IDX file (expected 00 00, a type byte 08, 09, 0B, 0C, 0D or 0E, then the number of dimensions)',
      { code: 'bad-magic', hint: 'the file is gzip-compressed: gunzip it first' },
    ],
    ['shorter than a magic number', () => tmp.write('e.idx', new Uint8Array([0, 0])), { images: 'e.idx' }, 'e.idx: truncated: expected at least 4 bytes, found 2', { code: 'truncated' }],
    [
      'truncated header',
      () => tmp.write('e.idx', idx('uint8', [3, 2, 2], PIXELS).subarray(0, 10)),
      { images: 'e.idx' },
      'e.idx: truncated: expected at least 16 bytes, found 10',
      { code: 'truncated' },
    ],
    [
      'truncated data',
      () => tmp.write('e.idx', idx('uint8', [3, 2, 2], PIXELS).subarray(0, 25)),
      { images: 'e.idx' },
      'e.idx: truncated: expected 28 bytes, found 25',
      { code: 'truncated', hint: 'the header announces dimensions [3, 2, 2] of uint8; download the file again' },
    ],
    [
      'data after the last record',
      () => tmp.write('e.idx', new Uint8Array([...idx('uint8', [3, 2, 2], PIXELS), 9])),
      { images: 'e.idx' },
      'e.idx: expected 28 bytes, found 29: data after the last record',
      { code: 'bad-header' },
    ],
    [
      'label count differs',
      () => tmp.write('e.idx', idx('uint8', [2], [0, 1])),
      { labels: 'e.idx' },
      'e.idx: has 2 labels but img.idx has 3 records',
      { code: 'mismatch' },
    ],
    [
      'label out of range (classes)',
      () => tmp.write('e.idx', idx('uint8', [3], [0, 1, 7])),
      { labels: 'e.idx', classes: 5 },
      'e.idx: record 2: label 7 is out of range (expected 0..4)',
      { code: 'label-out-of-range', record: 2 },
    ],
    [
      'label out of range, record counted from the file start',
      () => tmp.write('e.idx', idx('uint8', [3], [0, 1, 7])),
      { labels: 'e.idx', classes: 5, offset: 1 },
      'e.idx: record 2: label 7 is out of range (expected 0..4)',
      { code: 'label-out-of-range', record: 2 },
    ],
    [
      'negative label',
      () => tmp.write('e.idx', idx('int8', [3], [0, -1, 1])),
      { labels: 'e.idx' },
      'e.idx: record 1: label -1 is out of range (labels are class indices >= 0)',
      { code: 'label-out-of-range', record: 1 },
    ],
    [
      'float labels',
      () => tmp.write('e.idx', idx('float32', [3], [0, 1, 2])),
      { labels: 'e.idx' },
      'e.idx: labels must be integers, but the file holds float32',
      { code: 'unsupported-dtype' },
    ],
    [
      'labels with more than one value per record',
      () => tmp.write('e.idx', idx('uint8', [3, 2], [0, 1, 2, 0, 1, 2])),
      { labels: 'e.idx' },
      'e.idx: expected one label per record, found dimensions [3, 2]',
      { code: 'bad-header' },
    ],
    ['offset past the end', () => {}, { offset: 3 }, 'img.idx: offset 3 is past the last record (the file has 3)', { code: 'bad-option' }],
  ];

  it.each(cases)('%s', async (_name, setup, o, message, fields) => {
    setup();
    const err = await caught(() => load(o));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(message.replace('{dir}', tmp.dir));
    expect(err).toMatchObject(fields);
  });

  it('rejects invalid options with the loader name', async () => {
    const err = await caught(() => idxLoader.load({ images: 'img.idx', labels: 'lbl.idx', normalize: 'zscore' as never, extra: 1 } as never, ctx()));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(
      'Expected valid options for dataset loader `idx`: options has unknown key `extra`; normalize must be one of "none", "unit", "standard"',
    );
  });
});
