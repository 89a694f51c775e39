/**
 * Issue "Foundation 2/2" (a): re-running an unchanged recipe runs nothing:
 * every node is a verified cache hit, no worker starts, and the run takes a
 * small fraction of the first one's time.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loggedNodes, report, roundsFor, runRecipe, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: second run of an unchanged recipe', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  test('every node is a cache hit, no node-started event, and it takes < 1/5 of the first run', async () => {
    // `a` does ~1.5 s of real hashing so the time ratio means something.
    const rounds = roundsFor(1500);
    ws = await workspace('cache-hit', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds } },
      { id: 'b', uses: 'test/hash-chain', with: { label: 'b', rounds: 2000 } }, // needs `a` (the stage before)
      { id: 'c', uses: 'test/hash-chain', with: { label: 'c' }, needs: [] },
    ]);

    const first = await runRecipe(ws, 'first', ['--jobs', '2']);
    expect(first.cli.code).toBe(0);
    expect(statuses(first.record)).toEqual({ a: 'ran', b: 'ran', c: 'ran' });
    expect(loggedNodes(first.log, 'node-started')).toEqual(['a', 'b', 'c']);
    expect(first.record.durationMs).toBeGreaterThanOrEqual(1000);

    const second = await runRecipe(ws, 'second', ['--jobs', '2']);
    expect(second.cli.code).toBe(0);
    expect(second.cli.stderr).toBe('');
    expect(second.record.status).toBe('succeeded');
    expect(second.record.nodes.map((n) => [n.id, n.status, n.cacheHit, n.reasons])).toEqual([
      ['a', 'cached', true, []],
      ['b', 'cached', true, []],
      ['c', 'cached', true, []],
    ]);
    // Same keys, same bytes as the first run.
    for (const n of second.record.nodes) {
      const f = first.record.nodes.find((x) => x.id === n.id)!;
      expect(n.key).toBe(f.key);
      expect(n.outputs.data!.digest).toBe(f.outputs.data!.digest);
      expect(n.metrics).toEqual(f.metrics);
    }
    // No worker ran: the log has no node-started, only node-cached for each node.
    expect(second.log.filter((e) => e.event === 'node-started')).toEqual([]);
    expect(loggedNodes(second.log, 'node-cached')).toEqual(['a', 'b', 'c']);
    expect(second.cli.stdout).toContain('succeeded: 0 ran, 3 cached, 0 failed, 0 skipped');
    // The final artifacts are still delivered, identical.
    for (const sink of ['b', 'c']) {
      const rel = join('artifacts', sink, 'data', 'result.json');
      expect(await readFile(join(second.outDir, rel), 'utf8')).toBe(await readFile(join(first.outDir, rel), 'utf8'));
    }

    const timing = { firstMs: first.record.durationMs, secondMs: second.record.durationMs, firstWallMs: Math.round(first.wallMs), secondWallMs: Math.round(second.wallMs) };
    await report('cache-hit', timing);
    expect({ ...timing, secondUnderFifth: second.record.durationMs < first.record.durationMs / 5 }).toMatchObject({ secondUnderFifth: true });
  });
});
