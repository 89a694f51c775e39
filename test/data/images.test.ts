import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import type { Dataset } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { ImageCache } from '../../src/data/image-cache.js';
import { decodeImage } from '../../src/data/image-decode.js';
import { createImagesLoader, imageCacheDir } from '../../src/data/images.js';
import type { ImagesOptions } from '../../src/data/images.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { caught } from './helpers.js';
import { IMAGES_DIR, mnistDigit, SOURCES } from './image-fixtures.js';

/** A scratch dir per test file: a copy of the fixtures (some tests edit it) and the data caches. */
let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mp-images-'));
  cpSync(IMAGES_DIR, join(work, 'photos'), { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let caches = 0;
/** A load context on the fixture copy with a fresh, empty data cache. */
const ctx = (cacheDir = join(work, `cache-${caches++}`)) => ({ baseDir: work, hashes: new FileHashCache(), cacheDir });

function registry(): DatasetRegistry {
  const r = new DatasetRegistry();
  registerBuiltinLoaders(r);
  return r;
}

/** Example `i` of `ds` as an array. */
const example = (ds: Dataset, i: number) => {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  return Array.from(ds.x.subarray(i * size, (i + 1) * size));
};
const unit = (bytes: Uint8Array) => Array.from(bytes, (v) => Math.fround(v / 255));

describe('images loader through the registry', () => {
  it('a folder per class: sorted classes, sorted files, exact PNG pixels', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/folders', size: [28, 28], channels: 1 }, { ...ctx(), name: 'train' });
    expect(ds).toMatchObject({ name: 'train', count: 6, shape: [28, 28, 1], classes: 3, classNames: ['one', 'seven', 'zero'] });
    expect(ds.labelled).toBeUndefined();
    // one/a.png, one/b.jpg, seven/a.png, seven/b.jpg, zero/a.png, zero/b.jpg
    expect(Array.from(ds.y)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(example(ds, 0)).toEqual(unit(mnistDigit(SOURCES['folders/one/a.png']!.mnistTestIndex)));
    expect(example(ds, 4)).toEqual(unit(mnistDigit(SOURCES['folders/zero/a.png']!.mnistTestIndex)));
  });

  it('size [14, 14] shrinks by area averaging: each value is the mean of a 2x2 block, rounded to 8 bits', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/folders', size: [14, 14], channels: 1 }, ctx());
    expect(ds.shape).toEqual([14, 14, 1]);
    const d = mnistDigit(SOURCES['folders/one/a.png']!.mnistTestIndex);
    const got = example(ds, 0);
    for (const [y, x] of [[7, 7], [5, 8], [10, 6]] as const) {
      const mean = (d[2 * y * 28 + 2 * x]! + d[2 * y * 28 + 2 * x + 1]! + d[(2 * y + 1) * 28 + 2 * x]! + d[(2 * y + 1) * 28 + 2 * x + 1]!) / 4;
      expect(got[y * 14 + x]).toBe(Math.fround(Math.round(mean) / 255));
    }
  });

  it('channels 3, layout nchw, symmetric: shape [3, h, w] and grey planes equal', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/folders', size: [28, 28], layout: 'nchw', normalize: 'symmetric' }, ctx());
    expect(ds.shape).toEqual([3, 28, 28]);
    const e = example(ds, 0);
    const d = mnistDigit(SOURCES['folders/one/a.png']!.mnistTestIndex);
    for (const plane of [0, 1, 2]) e.slice(plane * 784, (plane + 1) * 784).forEach((v, p) => expect(v).toBeCloseTo(d[p]! / 127.5 - 1, 5));
  });

  it('symbolic links to class folders count as class folders', async () => {
    mkdirSync(join(work, 'linked'));
    symlinkSync(join(work, 'photos/folders/one'), join(work, 'linked/one'));
    symlinkSync(join(work, 'photos/folders/zero'), join(work, 'linked/zero'));
    const ds = await registry().load({ uses: 'images', path: 'linked', size: [8, 8] }, ctx());
    expect(ds).toMatchObject({ count: 4, classNames: ['one', 'zero'] });
    expect(Array.from(ds.y)).toEqual([0, 0, 1, 1]);
  });

  it('`classes` sets the class order', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/folders', size: [8, 8], classes: ['zero', 'one', 'seven'] }, ctx());
    expect(ds.classNames).toEqual(['zero', 'one', 'seven']);
    expect(Array.from(ds.y)).toEqual([1, 1, 2, 2, 0, 0]);
  });

  it('`limit` takes from each class in turn', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/folders', size: [8, 8], limit: 4 }, ctx());
    expect(Array.from(ds.y)).toEqual([0, 0, 1, 2]);
  });

  it('a CSV list with class names (paths relative to the list)', async () => {
    const ds = await registry().load({ uses: 'images', list: 'photos/list.csv', size: [28, 28], channels: 1 }, ctx());
    expect(ds).toMatchObject({ count: 3, classes: 3, classNames: ['one', 'seven', 'zero'] });
    expect(Array.from(ds.y)).toEqual([2, 0, 1]);
    expect(example(ds, 0)).toEqual(unit(mnistDigit(SOURCES['folders/zero/a.png']!.mnistTestIndex)));
  });

  it('a JSON list with class indices', async () => {
    const ds = await registry().load({ uses: 'images', list: 'photos/list.json', size: [28, 28], channels: 1 }, ctx());
    expect(ds).toMatchObject({ count: 2, classes: 8 });
    expect(ds.classNames).toBeUndefined();
    expect(Array.from(ds.y)).toEqual([1, 7]);
  });

  it.each<[string, Partial<ImagesOptions>, number]>([
    ['a folder of images only', { path: 'photos/unlabelled' }, 3],
    ['a JSON list of paths', { list: 'photos/unlabelled-list.json' }, 2],
    ['class folders with `labels: none`', { path: 'photos/folders', labels: 'none' }, 6],
  ])('unlabelled: %s', async (_name, o, count) => {
    const ds = await registry().load({ uses: 'images', size: [28, 28], channels: 1, ...o }, ctx());
    expect(ds).toMatchObject({ count, classes: 0, labelled: false });
    expect(Array.from(ds.y)).toEqual(Array(count).fill(-1));
  });

  it('unlabelled folder: notes.txt skipped, the PNG named .jpg read, the 28x42 image centre-cropped to its digit', async () => {
    const ds = await registry().load({ uses: 'images', path: 'photos/unlabelled', size: [28, 28], channels: 1 }, ctx());
    // c.png, really-png.jpg, wide.png
    expect(example(ds, 1)).toEqual(unit(mnistDigit(SOURCES['unlabelled/really-png.jpg']!.mnistTestIndex)));
    // wide.png is the digit at column 7 of a 42-column canvas; crop keeps columns 7..34.
    expect(example(ds, 2)).toEqual(unit(mnistDigit(SOURCES['unlabelled/wide.png']!.mnistTestIndex)));
  });
});

describe('images errors', () => {
  const loader = createImagesLoader();

  it('a corrupt image is a DataError naming the file and what the decoder said', async () => {
    const err = await caught(() => loader.load({ path: 'photos/corrupt', size: [28, 28] }, ctx()));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe('photos/corrupt/seven/truncated.jpg: cannot decode image: JPEG decoder: unknown JPEG marker 0');
    expect(err).toMatchObject({ code: 'bad-image', file: 'photos/corrupt/seven/truncated.jpg' });
  });

  describe('recipe-level problems carry the option to locate', () => {
    beforeAll(() => {
      // git keeps no empty folders: the empty class gets a .gitkeep (hidden files are ignored).
      cpSync(join(work, 'photos/folders'), join(work, 'with-empty'), { recursive: true });
      mkdirSync(join(work, 'with-empty/nine'));
      writeFileSync(join(work, 'with-empty/nine/.gitkeep'), '');
      mkdirSync(join(work, 'no-images'));
      writeFileSync(join(work, 'no-images/readme.txt'), 'x');
      writeFileSync(join(work, 'no-images/a.gif'), 'GIF89a');
      mkdirSync(join(work, 'loose'));
      cpSync(join(work, 'photos/folders'), join(work, 'loose'), { recursive: true });
      cpSync(join(work, 'photos/unlabelled/c.png'), join(work, 'loose/c.png'));
    });

    it.each<[string, Partial<ImagesOptions>, string, string, string | undefined]>([
      ['an empty class folder', { path: 'with-empty' }, 'with-empty/nine: class folder `nine` has no images', 'path', 'put .jpg, .jpeg or .png files in it (hidden files are ignored)'],
      [
        'a folder with no images',
        { path: 'no-images' },
        'no-images: no images in this folder',
        'path',
        'only .jpg, .jpeg and .png files are read; skipped 2 other file(s): a.gif, readme.txt',
      ],
      ['a missing folder', { path: 'nowhere' }, `nowhere: no such folder: ${'{work}'}/nowhere`, 'path', "relative paths are resolved from the recipe's directory"],
      [
        'images outside the class folders',
        { path: 'loose' },
        'loose: 1 image(s) directly in the folder, outside the class folders (c.png)',
        'path',
        'move them into their class folder, or set `labels: none` to load every image unlabelled',
      ],
      [
        '`classes` that do not match the folders',
        { path: 'photos/folders', classes: ['zero', 'one', 'eight'] },
        'photos/folders: `classes` does not match the class folders: no folder for class(es) `eight`; folder(s) `seven` not in `classes`',
        'classes',
        'the class folders are: one, seven, zero',
      ],
      ['`labels: folders` on a plain folder', { path: 'photos/unlabelled', labels: 'folders' }, 'photos/unlabelled: `labels: folders` needs one sub-folder per class, but this folder has none', 'path', "move each class's images into a folder named after the class, or set `labels: none`"],
    ])('%s', async (_name, o, message, option, hint) => {
      const err = await caught(() => loader.fingerprint({ size: [28, 28], ...o } as ImagesOptions, ctx()));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(message.replace('{work}', work));
      expect(err.option).toBe(option);
      expect(err.hint).toBe(hint);
    });
  });

  it.each<[string, string, string]>([
    ['a CSV row without a label', 'path,label\nfolders/zero/a.png,zero\nfolders/one/a.png,\n', 'bad.csv:3: no label for folders/one/a.png'],
    ['a CSV row naming a class not in `classes`', 'path,label\nfolders/zero/a.png,zero\n', 'bad.csv:2: label "zero" is not one of `classes` (one, two)'],
    ['a listed file that is not an image', 'path,label\nunlabelled/notes.txt,one\n', 'bad.csv:2: unlabelled/notes.txt is not a .jpg, .jpeg or .png file'],
  ])('list: %s', async (_name, csv, message) => {
    writeFileSync(join(work, 'photos/bad.csv'), csv);
    const o: ImagesOptions = { list: 'photos/bad.csv', size: [8, 8], ...(message.includes('`classes`') ? { classes: ['one', 'two'] } : {}), ...(message.includes('no label') ? { labels: 'list' } : {}) };
    const err = await caught(() => loader.fingerprint(o, ctx()));
    expect(err.message).toBe(`photos/${message}`);
  });

  it('a listed image that does not exist names it', async () => {
    writeFileSync(join(work, 'photos/missing.json'), '[{ "path": "folders/zero/nope.png", "label": 0 }]');
    const err = await caught(() => loader.fingerprint({ list: 'photos/missing.json', size: [8, 8] }, ctx()));
    expect(err.message).toBe(`photos/folders/zero/nope.png: no such file: ${join(work, 'photos/folders/zero/nope.png')}`);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['neither path nor list', { size: [8, 8] }, "options must have required property 'path'; options must have required property 'list'; options must match a schema in anyOf"],
  ])('bad options: %s', async (_name, o, message) => {
    const err = await caught(() => loader.fingerprint(o as unknown as ImagesOptions, ctx()));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain(message);
  });

  it('both `path` and `list` is a DataError on `list`', async () => {
    const err = await caught(() => loader.fingerprint({ path: 'photos/folders', list: 'photos/list.csv', size: [8, 8] }, ctx()));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe('photos/list.csv: give `path` (a folder) or `list` (a list file), not both');
    expect(err.option).toBe('list');
  });

  it('a normalize mean/std that does not fit `channels` is a DataError on the `normalize` option (the schema cannot see it)', async () => {
    const err = await caught(() => loader.fingerprint({ path: 'photos/folders', size: [8, 8], channels: 1, normalize: { mean: [0.1, 0.2], std: [1] } }, ctx()));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe('photos/folders: Expected normalize.mean to have 1 value (channels: 1), got 2');
    expect(err.option).toBe('normalize');
  });
});

describe('decoded images are cached by content', () => {
  function counting() {
    const calls = { n: 0 };
    const loader = createImagesLoader({
      decode: (bytes, channels) => {
        calls.n++;
        return decodeImage(bytes, channels);
      },
    });
    return { loader, calls };
  }

  it('a second load (a rerun: a new loader, same cache) decodes nothing and gives the same data', async () => {
    const cacheDir = join(work, 'shared-cache');
    const o: ImagesOptions = { path: 'photos/folders', size: [20, 20] };
    const first = counting();
    const a = await first.loader.load(o, ctx(cacheDir));
    expect(first.calls.n).toBe(6);
    const second = counting();
    const b = await second.loader.load(o, ctx(cacheDir));
    expect(second.calls.n).toBe(0);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    expect(Array.from(b.y)).toEqual(Array.from(a.y));
    // Normalisation and layout are applied after the cache: no decode either.
    await second.loader.load({ ...o, normalize: 'imagenet', layout: 'nchw' }, ctx(cacheDir));
    expect(second.calls.n).toBe(0);
    // Another size is another entry; `cache: false` always decodes.
    await second.loader.load({ ...o, size: [10, 10] }, ctx(cacheDir));
    expect(second.calls.n).toBe(6);
    const uncached = await second.loader.load({ ...o, cache: false }, ctx(cacheDir));
    expect(second.calls.n).toBe(12);
    // The cache never changes a result: the same 8-bit pixels either way.
    expect(Array.from(uncached.x)).toEqual(Array.from(a.x));
  });

  it('a damaged cache entry is a miss, decoded again and rewritten', async () => {
    const cacheDir = join(work, 'damaged-cache');
    const o: ImagesOptions = { path: 'photos/unlabelled', size: [8, 8], channels: 1 };
    const { loader, calls } = counting();
    const a = await loader.load(o, ctx(cacheDir));
    const root = join(cacheDir, 'images', 'v1');
    const shard = (await readdir(root))[0]!;
    const entry = join(root, shard, (await readdir(join(root, shard)))[0]!);
    await writeFile(entry, Buffer.from([1, 2, 3]));
    const b = await loader.load(o, ctx(cacheDir));
    expect(calls.n).toBe(4);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    expect(readFileSync(entry).length).toBe(8 * 8);
  });

  it('the default cache folder is <recipe dir>/.modelpress/cache/data/images (or MODELPRESS_CACHE_DIR)', () => {
    const saved = process.env.MODELPRESS_CACHE_DIR;
    try {
      delete process.env.MODELPRESS_CACHE_DIR;
      expect(imageCacheDir({ baseDir: '/r' })).toBe('/r/.modelpress/cache/data/images');
      process.env.MODELPRESS_CACHE_DIR = '/c';
      expect(imageCacheDir({ baseDir: '/r' })).toBe('/c/data/images');
      expect(imageCacheDir({ baseDir: '/r', cacheDir: '/d' })).toBe('/d/images');
    } finally {
      if (saved === undefined) delete process.env.MODELPRESS_CACHE_DIR;
      else process.env.MODELPRESS_CACHE_DIR = saved;
    }
  });

  it('ImageCache.pathOf names the content digest and the shaping options', () => {
    const cache = new ImageCache('/x');
    expect(cache.pathOf({ sha256: 'ab12', height: 2, width: 3, channels: 1, resize: 'pad' })).toBe('/x/v1/ab/ab12-2x3x1-pad.u8');
  });
});

describe('images fingerprint', () => {
  const loader = createImagesLoader();
  const o: ImagesOptions = { path: 'fp', size: [8, 8] };
  beforeAll(() => cpSync(join(work, 'photos/folders'), join(work, 'fp'), { recursive: true }));

  it('equals the loaded dataset\'s, ignores `cache`, changes with an image, a move to another class, or an option', async () => {
    const base = await loader.fingerprint(o, ctx());
    expect((await loader.load(o, ctx())).fingerprint).toBe(base);
    expect(await loader.fingerprint({ ...o, cache: false }, ctx())).toBe(base);
    expect(await loader.fingerprint({ ...o, normalize: 'symmetric' }, ctx())).not.toBe(base);

    // Same bytes moved to another class: labels change, so must the fingerprint.
    renameSync(join(work, 'fp/one/a.png'), join(work, 'fp/seven/c.png'));
    const moved = await loader.fingerprint(o, ctx());
    expect(moved).not.toBe(base);
    renameSync(join(work, 'fp/seven/c.png'), join(work, 'fp/one/a.png'));
    expect(await loader.fingerprint(o, ctx())).toBe(base);

    // One image replaced by another.
    cpSync(join(work, 'photos/unlabelled/c.png'), join(work, 'fp/one/a.png'));
    expect(await loader.fingerprint(o, ctx())).not.toBe(base);
  });
});
