import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestDirectory } from '../../src/cache/digest.js';
import { CacheStore } from '../../src/cache/store.js';
import { keyOf, modelFiles, useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();
const DAY = 24 * 60 * 60 * 1000;

async function setup() {
  const root = await tempDir();
  const model = path.join(root, 'work', 'model');
  await writeTree(model, modelFiles());
  let now = new Date('2024-03-01T00:00:00.000Z');
  const store = new CacheStore({ dir: path.join(root, 'cache'), now: () => now });
  const put = (n: number) => store.put(keyOf(n), { outputs: { model }, result: { n }, record: { n } });
  const advanceDays = (days: number) => {
    now = new Date(now.getTime() + days * DAY);
  };
  return { root, store, put, advanceDays };
}

async function bytesOf(dir: string): Promise<number> {
  return (await digestDirectory(dir)).files.reduce((sum, file) => sum + file.size, 0);
}

describe('CacheStore.gc', () => {
  it('removes entries unused for keepDays, counting the last hit over creation', async () => {
    const { store, put, advanceDays } = await setup();
    const old = await put(1);
    advanceDays(1);
    await put(2);
    advanceDays(19);
    await store.get(keyOf(2));
    advanceDays(5);
    const oldBytes = await bytesOf(old.dir);

    expect(await store.gc({ keepDays: 10 })).toEqual({ removed: 1, freedBytes: oldBytes, kept: 1, leftovers: 0 });
    expect(await store.get(keyOf(1))).toEqual({ status: 'miss' });
    expect((await store.get(keyOf(2))).status).toBe('hit');
  });

  it('keeps everything used within keepDays', async () => {
    const { store, put, advanceDays } = await setup();
    await put(1);
    await put(2);
    advanceDays(9);
    expect(await store.gc({ keepDays: 10 })).toEqual({ removed: 0, freedBytes: 0, kept: 2, leftovers: 0 });
  });

  it.each<[string, (dir: string) => Promise<void>]>([
    ['missing', (dir) => rm(path.join(dir, 'manifest.json'))],
    ['unparsable', (dir) => writeFile(path.join(dir, 'manifest.json'), 'not json')],
  ])('removes a fresh entry whose manifest is %s', async (_name, damage) => {
    const { store, put } = await setup();
    const entry = await put(1);
    await put(2);
    await damage(entry.dir);
    const result = await store.gc({ keepDays: 365 });
    expect(result).toMatchObject({ removed: 1, kept: 1, leftovers: 0 });
    expect(result.freedBytes).toBeGreaterThan(entry.sizeBytes);
    expect(await store.list()).toEqual([expect.objectContaining({ key: keyOf(2), status: 'ok' })]);
  });

  it.each([-1, Number.NaN, Infinity])('rejects keepDays %p', async (keepDays) => {
    const { store } = await setup();
    await expect(store.gc({ keepDays })).rejects.toThrow(
      new TypeError(`Expected options.keepDays to be a non-negative number, got ${keepDays}`),
    );
  });

  it('works on a store that was never written', async () => {
    const { store } = await setup();
    expect(await store.gc({ keepDays: 1 })).toEqual({ removed: 0, freedBytes: 0, kept: 0, leftovers: 0 });
  });
});

describe('CacheStore.clear', () => {
  it('removes every entry, node record and temp dir, and the store stays usable', async () => {
    const { root, store, put } = await setup();
    await put(1);
    await put(2);
    await store.recordNode('recipe.yaml', 'prune', keyOf(1));
    await writeTree(path.join(root, 'cache', 'tmp', 'partial'), { a: 'a' });

    expect(await store.clear()).toEqual({ removed: 2 });
    expect(await readdir(path.join(root, 'cache'))).toEqual([]);
    expect(await store.list()).toEqual([]);
    expect(await store.listNodes()).toEqual([]);
    expect(await store.get(keyOf(1))).toEqual({ status: 'miss' });

    await put(1);
    expect((await store.get(keyOf(1))).status).toBe('hit');
  });

  it('is a no-op on an empty store', async () => {
    const { store } = await setup();
    expect(await store.clear()).toEqual({ removed: 0 });
  });
});
