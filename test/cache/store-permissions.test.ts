/**
 * Issue 14: entries were created 0700 (mkdtemp's mode), so a cache shared
 * between users failed with EACCES for everyone but the writer. Every
 * directory and file the store creates now follows the umask: with umask 002
 * (docs/cache.md, shared caches) the group can read and write all of it.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CacheStore } from '../../src/cache/store.js';
import { keyOf, modelFiles, useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();

async function modes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      out[path.relative(root, full)] = ((await stat(full)).mode & 0o777).toString(8);
      if (entry.isDirectory()) await walk(full);
    }
  }
  await walk(root);
  return out;
}

describe('CacheStore permissions', () => {
  let previous: number;
  beforeEach(() => {
    previous = process.umask(0o002);
  });
  afterEach(() => {
    process.umask(previous);
  });

  it('creates entries, node records and locks with the umask applied (002: group-writable)', async () => {
    const root = await tempDir();
    const model = path.join(root, 'work', 'model');
    await writeTree(model, modelFiles());
    const store = new CacheStore({ dir: path.join(root, 'cache') });
    await store.put(keyOf(1), { outputs: { model }, result: { metrics: {} }, record: {}, node: 'prune' });
    await store.recordNode('recipe.yaml', 'prune', keyOf(1));
    const lock = await store.locks.tryAcquire(keyOf(2));
    const found = await modes(store.dir);
    if (lock.status === 'acquired') await lock.lock.release();

    const wrong = Object.entries(found).filter(([, mode]) => mode !== '775' && mode !== '664');
    expect(wrong).toEqual([]);
    // The walk saw what it should: an entry, its outputs, a node record and a lock.
    expect(Object.keys(found)).toEqual(
      expect.arrayContaining([
        `entries/${keyOf(1).slice(0, 2)}/${keyOf(1)}`,
        `entries/${keyOf(1).slice(0, 2)}/${keyOf(1)}/manifest.json`,
        `entries/${keyOf(1).slice(0, 2)}/${keyOf(1)}/outputs/model/model.json`,
        `locks/${keyOf(2)}.lock`,
      ]),
    );
    expect(Object.keys(found).filter((p) => p.startsWith('nodes/'))).toHaveLength(1);
  });
});
