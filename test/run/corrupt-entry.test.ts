/**
 * Issue "Foundation 2/2" (e): a damaged cache entry is detected on read,
 * reported, treated as a miss and recomputed; the run succeeds.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { node, runRecipe, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

/** The entry directory whose manifest says it was produced by `nodeId`. */
async function entryOf(cache: string, nodeId: string): Promise<string> {
  const found: string[] = [];
  const root = join(cache, 'entries');
  for (const shard of await readdir(root)) {
    for (const key of await readdir(join(root, shard))) {
      const manifest = JSON.parse(await readFile(join(root, shard, key, 'manifest.json'), 'utf8')) as { node?: string };
      if (manifest.node === nodeId) found.push(join(root, shard, key));
    }
  }
  if (found.length !== 1) throw new Error(`expected one cache entry for ${nodeId}, found ${found.length}`);
  return found[0]!;
}

describe('run: corrupted cache entry', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  test('emits cache-corrupt, re-runs that node, and succeeds', async () => {
    ws = await workspace('corrupt', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a' } },
      { id: 'b', uses: 'test/hash-chain', with: { label: 'b' } }, // needs `a`
    ]);
    const first = await runRecipe(ws, 'first');
    expect(first.cli.code).toBe(0);

    // Flip bytes in a's stored output, keeping its size.
    const file = join(await entryOf(ws.cache, 'a'), 'outputs', 'data', 'result.json');
    const original = await readFile(file);
    const damaged = Buffer.from(original);
    for (const i of [10, 11, 12]) damaged[i] = damaged[i]! ^ 0xff;
    await writeFile(file, damaged);

    const second = await runRecipe(ws, 'second');
    expect(second.cli.code).toBe(0);
    expect(second.record.status).toBe('succeeded');
    const reason = 'outputs/data/result.json: sha256 mismatch';
    const a = node(second.record, 'a');
    expect([a.status, a.cacheHit, a.key, a.reasons]).toEqual(['ran', false, node(first.record, 'a').key, [`cache entry corrupt: ${reason}`]]);
    // Recomputed bytes equal the originals, so b's key is unchanged and it is a hit.
    expect(a.outputs.data!.digest).toBe(node(first.record, 'a').outputs.data!.digest);
    expect(node(second.record, 'b').status).toBe('cached');

    const corrupt = second.log.filter((e) => e.event === 'cache-corrupt');
    expect(corrupt.map((e) => [e.node, e.key, e.reason, e.level])).toEqual([['a', a.key, reason, 'warn']]);
    expect(second.cli.stdout).toContain(`  warn   a: cache entry is corrupt, recomputing (${reason})\n`);

    // The entry was repaired in place: same key, the original bytes again.
    expect((await readFile(file)).equals(original)).toBe(true);
  });
});
