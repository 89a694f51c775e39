import { createHash } from 'node:crypto';
import { utimesSync } from 'node:fs';
import { FileHashCache, RACY_WINDOW_MS } from '../../src/data/file-hash.js';
import { DataError } from '../../src/data/errors.js';
import { datasetFingerprint, fingerprintOf, fingerprintRecord } from '../../src/data/fingerprint.js';
import { caught, LONG_AGO, useTempDir } from './helpers.js';

const tmp = useTempDir();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('FileHashCache', () => {
  it('hashes the bytes', async () => {
    const path = tmp.write('a.bin', 'hello');
    expect(await new FileHashCache().hash({ path, label: 'a.bin' })).toEqual({ sha256: sha('hello'), size: 5 });
  });

  it('reuses a hash while (path, size, mtime) are unchanged', async () => {
    const path = tmp.write('old.bin', 'aaaa', LONG_AGO);
    const cache = new FileHashCache();
    const first = await cache.hash({ path, label: 'old.bin' });
    expect(cache.size).toBe(1);
    // Same size, same mtime, different bytes: the memo answers (this is what it trades for speed)...
    tmp.write('old.bin', 'bbbb', LONG_AGO);
    expect(await cache.hash({ path, label: 'old.bin' })).toEqual(first);
    // ...and any change of mtime or size is seen.
    utimesSync(path, new Date('2021-01-01'), new Date('2021-01-01'));
    expect((await cache.hash({ path, label: 'old.bin' })).sha256).toBe(sha('bbbb'));
    tmp.write('old.bin', 'ccccc', LONG_AGO);
    expect((await cache.hash({ path, label: 'old.bin' })).sha256).toBe(sha('ccccc'));
  });

  it(`does not memoise files modified in the last ${RACY_WINDOW_MS} ms (coarse mtimes)`, async () => {
    const path = tmp.write('fresh.bin', 'aaaa');
    const cache = new FileHashCache();
    await cache.hash({ path, label: 'fresh.bin' });
    tmp.write('fresh.bin', 'bbbb');
    expect((await cache.hash({ path, label: 'fresh.bin' })).sha256).toBe(sha('bbbb'));
    expect(cache.size).toBe(0);
  });

  it('a missing file is a DataError naming the label', async () => {
    const err = await caught(() => new FileHashCache().hash({ path: `${tmp.dir}/gone.bin`, label: 'data/gone.bin' }));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(`data/gone.bin: no such file: ${tmp.dir}/gone.bin`);
  });

  it('a directory is not a data file', async () => {
    const err = await caught(() => new FileHashCache().hash({ path: tmp.dir, label: 'dir' }));
    expect(err.message).toBe(`dir: not a file: ${tmp.dir}`);
  });
});

describe('dataset fingerprints', () => {
  it('are sha256 of the canonical record: loader, version, options, file hashes', async () => {
    const path = tmp.write('f.bin', 'xyz');
    const record = await fingerprintRecord({ name: 'l', version: '2' }, { b: 1, a: 2 }, { data: { path, label: 'f.bin' } }, new FileHashCache());
    expect(record).toEqual({ loader: 'l', version: '2', options: { b: 1, a: 2 }, files: { data: { sha256: sha('xyz'), size: 3 } } });
    const expected = `sha256:${sha(`{"files":{"data":{"sha256":"${sha('xyz')}","size":3}},"loader":"l","options":{"a":2,"b":1},"version":"2"}`)}`;
    expect(fingerprintOf(record)).toBe(expected);
    expect(await datasetFingerprint({ name: 'l', version: '2' }, { a: 2, b: 1 }, { data: { path, label: 'x' } })).toBe(expected);
    expect(await datasetFingerprint({ name: 'l', version: '3' }, { a: 2, b: 1 }, { data: { path, label: 'x' } })).not.toBe(expected);
  });
});
