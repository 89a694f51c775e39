import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CacheStore } from '../../src/cache/store.js';
import { modelFiles, useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();
const KEY = 'cd'.repeat(32);
const HOUR = 60 * 60 * 1000;

// Each racer copies from its own source dir, as separate processes would.
async function sources(root: string, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dir = path.join(root, 'work', `racer-${i}`, 'model');
      await writeTree(dir, modelFiles());
      return dir;
    }),
  );
}

describe('CacheStore under concurrent writers', () => {
  it('publishes one complete entry when 8 puts and 8 gets of one key race', async () => {
    const root = await tempDir();
    const store = new CacheStore({ dir: path.join(root, 'cache') });
    const dirs = await sources(root, 8);

    const puts = dirs.map((model) => store.put(KEY, { outputs: { model }, result: { ok: true }, record: { k: 1 } }));
    const gets = dirs.map(() => store.get(KEY));
    const [entries, lookups] = await Promise.all([Promise.all(puts), Promise.all(gets)]);

    expect(new Set(entries.map((entry) => entry.dir)).size).toBe(1);
    expect(new Set(entries.map((entry) => entry.outputs.model?.digest)).size).toBe(1);
    for (const lookup of lookups) expect(['miss', 'hit']).toContain(lookup.status);
    expect((await store.get(KEY)).status).toBe('hit');
    expect(await readdir(path.join(root, 'cache', 'entries', 'cd'))).toEqual([KEY]);
    expect(await readdir(path.join(root, 'cache', 'tmp'))).toEqual([]);
    expect(await readdir(path.join(root, 'cache', 'trash')).catch(() => [])).toEqual([]);
  });

  it('repairs a corrupt entry when 16 puts race to replace it, round after round', async () => {
    // Repairers rename entries in and out while others read them: a verdict drawn from
    // a copy swapped mid-read must not fail a put (it did about 2% of the time).
    for (let round = 0; round < 5; round += 1) {
      const root = await tempDir();
      const store = new CacheStore({ dir: path.join(root, 'cache') });
      const dirs = await sources(root, 16);
      const input = (model: string) => ({ outputs: { model }, result: { ok: true }, record: { k: 1 } });
      const { dir } = await store.put(KEY, input(dirs[0] ?? ''));
      await writeFile(path.join(dir, 'result.json'), '{"ok":false}');
      expect((await store.get(KEY)).status).toBe('corrupt');

      const settled = await Promise.allSettled(dirs.map((model) => store.put(KEY, input(model))));

      expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect((await store.get(KEY)).status).toBe('hit');
      expect(await readdir(path.join(root, 'cache', 'tmp'))).toEqual([]);
      expect(await readdir(path.join(root, 'cache', 'trash'))).toEqual([]);
    }
  });

  it("never serves a killed writer's temp dir, and gc sweeps it once it is old", async () => {
    const root = await tempDir();
    const cache = path.join(root, 'cache');
    let now = new Date();
    const store = new CacheStore({ dir: cache, now: () => now });

    // A complete entry built elsewhere gives a realistic manifest for the leftover.
    const [model] = await sources(root, 1);
    const donor = await store.put(KEY, { outputs: { model: model ?? '' }, result: 1, record: 1 });
    const manifest = await readFile(path.join(donor.dir, 'manifest.json'), 'utf8');
    await store.evict(KEY);

    const leftover = path.join(cache, 'tmp', 'xyz');
    await writeTree(leftover, {
      'outputs/model/model.json': '{"format":"layers-mo',
      'manifest.json': manifest,
    });
    const abandonedTrash = path.join(cache, 'trash', 'old');
    await writeTree(abandonedTrash, { 'outputs/model/model.json': '{}' });

    expect(await store.get(KEY)).toEqual({ status: 'miss' });
    expect(await store.list()).toEqual([]);

    expect(await store.gc({ keepDays: 30 })).toEqual({ removed: 0, freedBytes: 0, kept: 0, leftovers: 0 });
    expect((await readdir(path.join(cache, 'tmp'))).sort()).toEqual(['xyz']);

    now = new Date(Date.now() + 2 * HOUR);
    const swept = await store.gc({ keepDays: 30 });
    expect(swept).toEqual({ removed: 0, freedBytes: 20 + manifest.length + 2, kept: 0, leftovers: 2 });
    expect(await readdir(path.join(cache, 'tmp'))).toEqual([]);
    expect(await readdir(path.join(cache, 'trash'))).toEqual([]);

    await store.put(KEY, { outputs: { model: model ?? '' }, result: 1, record: 1 });
    expect((await store.get(KEY)).status).toBe('hit');
  });

  it('judges leftovers by their modification time', async () => {
    const root = await tempDir();
    const cache = path.join(root, 'cache');
    const store = new CacheStore({ dir: cache });
    await writeTree(path.join(cache, 'tmp'), { 'fresh/a': 'a', 'stale/b': 'b' });
    const old = new Date(Date.now() - 2 * HOUR);
    await utimes(path.join(cache, 'tmp', 'stale'), old, old);

    expect(await store.gc({ keepDays: 1 })).toEqual({ removed: 0, freedBytes: 1, kept: 0, leftovers: 1 });
    expect(await readdir(path.join(cache, 'tmp'))).toEqual(['fresh']);
  });
});
