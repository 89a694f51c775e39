/**
 * Issue "Foundation 2/2" (b): changing one stage's config re-runs exactly
 * that stage and what depends on it, and run.json says why.
 */
import { idsWith, loggedNodes, node, runRecipe, short8, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: one stage config changed with --set', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  test('re-runs exactly that stage and its descendants; reasons name the changed key', async () => {
    //   a -> b -> c
    //   a -> d
    //   e (independent)
    ws = await workspace('config-change', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a' } },
      { id: 'b', uses: 'test/hash-chain', with: { label: 'b', rounds: 1000 }, needs: ['a'] },
      { id: 'c', uses: 'test/hash-chain', with: { label: 'c' }, needs: ['b'] },
      { id: 'd', uses: 'test/hash-chain', with: { label: 'd' }, needs: ['a'] },
      { id: 'e', uses: 'test/hash-chain', with: { label: 'e' }, needs: [] },
    ]);
    const first = await runRecipe(ws, 'first', ['--jobs', '2']);
    expect(first.cli.code).toBe(0);
    expect(idsWith(first.record, 'ran')).toEqual(['a', 'b', 'c', 'd', 'e']);

    const changed = await runRecipe(ws, 'changed', ['--jobs', '2', '--set', 'stages.b.with.rounds=2000']);
    expect(changed.cli.code).toBe(0);
    expect(changed.record.recipe.overrides).toEqual(['stages.b.with.rounds=2000']);
    expect(idsWith(changed.record, 'ran')).toEqual(['b', 'c']);
    expect(idsWith(changed.record, 'cached')).toEqual(['a', 'd', 'e']);
    expect(loggedNodes(changed.log, 'node-started')).toEqual(['b', 'c']);
    expect(node(changed.record, 'b').config).toEqual({ label: 'b', rounds: 2000 });
    expect(node(changed.record, 'b').metrics.rounds).toBe(2000);

    // b: its own config changed, and nothing else in its key.
    expect(node(changed.record, 'b').reasons).toEqual(['config.rounds: 1000 -> 2000']);
    // c: same config, but its input (b's output) has new bytes.
    const oldB = node(first.record, 'b').outputs.data!.digest;
    const newB = node(changed.record, 'b').outputs.data!.digest;
    expect(newB).not.toBe(oldB);
    expect(node(changed.record, 'c').reasons).toEqual([`input 0 \`data\` changed (${short8(oldB)} -> ${short8(newB)})`]);
    // The node-started events carry the same reasons.
    const started = changed.log.filter((e) => e.event === 'node-started');
    expect(started.find((e) => e.node === 'b')!.reasons).toEqual(['config.rounds: 1000 -> 2000']);
  });
});
