/**
 * Issue 14: a killed put leaves tmp/put-* behind (641 MB seen); it was
 * invisible to `cache ls` and kept by `gc` for an hour. A put's directory now
 * names its writer, `leftovers()` lists it, and gc removes it at once when
 * that pid is gone, while a live writer's directory is kept.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { CacheStore } from '../../src/cache/store.js';
import { useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('CacheStore leftovers', () => {
  it('lists killed writes and gc removes them at once, keeping the directory of a live writer', async () => {
    const root = await tempDir();
    const store = new CacheStore({ dir: path.join(root, 'cache') });
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
    const killed = path.join(store.dir, 'tmp', `put-${deadPid()}@${host}-0123456789abcdef`);
    const live = path.join(store.dir, 'tmp', `put-${process.pid}@${host}-fedcba9876543210`);
    await writeTree(killed, { 'outputs/model/group1-shard1of1.bin': new Uint8Array(3000) });
    await writeTree(live, { 'outputs/model/group1-shard1of1.bin': new Uint8Array(1000) });

    const listed = (await store.leftovers()).map((l) => [path.basename(l.path), l.sizeBytes, l.writerAlive]).sort();
    expect(listed).toEqual(
      [
        [path.basename(killed), 3000, false],
        [path.basename(live), 1000, true],
      ].sort(),
    );
    const gc = await store.gc({ keepDays: 30 });
    expect(gc).toEqual({ removed: 0, kept: 0, leftovers: 1, freedBytes: 3000 });
    expect([existsSync(killed), existsSync(live)]).toEqual([false, true]);
  });
});
