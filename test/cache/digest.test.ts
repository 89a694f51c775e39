import { randomBytes } from 'node:crypto';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson, sha256Hex } from '../../src/cache/canonical-json.js';
import { digestDirectory, digestFile } from '../../src/cache/digest.js';
import { useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();

describe('digestDirectory', () => {
  it('lists files recursively, sorted, with posix paths, and hashes the list', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'b.txt': 'bb', 'a/z.bin': 'z', 'a/b/c.txt': 'ccc' });
    const result = await digestDirectory(dir);
    expect(result.files).toEqual([
      { path: 'a/b/c.txt', size: 3, sha256: sha256Hex('ccc') },
      { path: 'a/z.bin', size: 1, sha256: sha256Hex('z') },
      { path: 'b.txt', size: 2, sha256: sha256Hex('bb') },
    ]);
    expect(result.digest).toBe(`sha256:${sha256Hex(canonicalJson(result.files))}`);
  });

  it('is stable across copies written in a different order', async () => {
    const first = await tempDir();
    const second = await tempDir();
    await writeTree(first, { 'x/1': 'one', 'y/2': 'two', '3': 'three' });
    await writeTree(second, { '3': 'three', 'y/2': 'two', 'x/1': 'one' });
    await mkdir(path.join(second, 'empty-dir'));
    expect(await digestDirectory(second)).toEqual(await digestDirectory(first));
  });

  it.each<[string, (dir: string) => Promise<void>]>([
    ['content changes', (dir) => writeFile(path.join(dir, 'model.json'), '{"v":2}')],
    ['a file is renamed', (dir) => rename(path.join(dir, 'model.json'), path.join(dir, 'model2.json'))],
    ['a file moves into a folder', async (dir) => {
      await mkdir(path.join(dir, 'sub'));
      await rename(path.join(dir, 'model.json'), path.join(dir, 'sub', 'model.json'));
    }],
    ['a file is added', (dir) => writeFile(path.join(dir, 'extra'), '')],
  ])('changes when %s', async (_name, change) => {
    const dir = await tempDir();
    await writeTree(dir, { 'model.json': '{"v":1}', 'w.bin': 'weights' });
    const before = await digestDirectory(dir);
    await change(dir);
    expect((await digestDirectory(dir)).digest).not.toBe(before.digest);
  });

  it('follows symbolic links to files', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'store/blob': 'weights', 'model/model.json': '{}' });
    await symlink(path.join(dir, 'store', 'blob'), path.join(dir, 'model', 'w.bin'));
    const result = await digestDirectory(path.join(dir, 'model'));
    expect(result.files.map((file) => [file.path, file.sha256])).toEqual([
      ['model.json', sha256Hex('{}')],
      ['w.bin', sha256Hex('weights')],
    ]);
  });

  it('rejects a symbolic link cycle', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'a'));
    await symlink(dir, path.join(dir, 'a', 'loop'));
    await expect(digestDirectory(dir)).rejects.toThrow(/^Symbolic link cycle at /);
  });

  it('digests an empty directory as an empty list', async () => {
    const dir = await tempDir();
    expect(await digestDirectory(dir)).toEqual({ digest: `sha256:${sha256Hex('[]')}`, files: [] });
  });
});

describe('digestFile', () => {
  it('stream-hashes a file larger than one read chunk', async () => {
    const dir = await tempDir();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'shard.bin');
    await writeFile(file, bytes);
    expect(await digestFile(file)).toEqual({ size: bytes.length, sha256: sha256Hex(bytes) });
  });
});
