/**
 * Issue "Foundation 2/2" (c): `plan --json` predicts exactly what `run`
 * then does, for a recipe with a matrix, after changing the matrix and one
 * stage's config.
 */
import { runCli } from '../cli/run-cli.js';
import { node, runRecipe, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

interface PlanJson {
  nodes: { id: string; status: 'cached' | 'run'; key: string | null; reasons: string[]; inputs: string[] }[];
}

describe('plan --json predicts run', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  async function plan(args: string[]): Promise<PlanJson> {
    const r = await runCli(['plan', ws.recipe, '--cache-dir', ws.cache, '--json', ...args], { cwd: ws.dir });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as PlanJson;
  }
  const predicted = (p: PlanJson) => Object.fromEntries(p.nodes.map((n) => [n.id, n.status === 'run' ? 'ran' : 'cached']));

  test('per node cached/ran, keys and reasons match run.json', async () => {
    ws = await workspace('plan-predicts', [
      { id: 'base', uses: 'test/hash-chain', with: { label: 'base' } },
      { id: 'sweep', uses: 'test/hash-chain', needs: ['base'], matrix: { n: [1, 2, 3] }, with: { label: 'sweep-${matrix.n}' } },
      { id: 'tail', uses: 'test/hash-chain', needs: ['sweep'], with: { label: 'tail' } }, // fans out with sweep
      { id: 'side', uses: 'test/hash-chain', needs: [], with: { label: 'side', rounds: 1000 } },
    ]);

    const first = await runRecipe(ws, 'first', ['--jobs', '2']);
    expect(first.cli.code).toBe(0);
    expect(Object.values(statuses(first.record))).toEqual(Array(8).fill('ran'));

    // One matrix value replaced, one config changed.
    const set = ['--set', 'stages.sweep.matrix.n=[1, 2, 4]', '--set', 'stages.side.with.rounds=1500'];
    const after = await plan(set);
    const expected = {
      base: 'cached',
      'sweep[n=1]': 'cached',
      'sweep[n=2]': 'cached',
      'sweep[n=4]': 'ran',
      'tail[n=1]': 'cached',
      'tail[n=2]': 'cached',
      'tail[n=4]': 'ran',
      side: 'ran',
    };
    expect(predicted(after)).toEqual(expected);

    const second = await runRecipe(ws, 'second', ['--jobs', '2', ...set]);
    expect(second.cli.code).toBe(0);
    expect(statuses(second.record)).toEqual(predicted(after));
    expect(second.record.nodes.map((n) => n.id)).toEqual(after.nodes.map((n) => n.id));

    // Where plan could compute a key (all inputs cached), run used the same key and gave the same reasons.
    for (const p of after.nodes) {
      const r = node(second.record, p.id);
      if (p.key !== null) {
        expect([p.id, r.key]).toEqual([p.id, p.key]);
        expect([p.id, r.reasons]).toEqual([p.id, p.reasons]);
      }
    }
    expect(node(second.record, 'side').reasons).toEqual(['config.rounds: 1000 -> 1500']);
    expect(after.nodes.find((n) => n.id === 'sweep[n=4]')!.reasons).toEqual(['never run before']);
    expect(after.nodes.find((n) => n.id === 'tail[n=4]')!.reasons).toEqual(['upstream sweep[n=4] runs']);
  });
});
