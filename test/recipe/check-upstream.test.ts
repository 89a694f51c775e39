/**
 * `checkUpstream`: what a stage requires of its `needs:` is checked by
 * `validate`, before the stages upstream of it run. Here select, against the
 * real built-in stages: it needs an evaluate stage and the candidates' stage.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { StageRegistry } from '../../src/plugin-registry.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { registerBuiltinStages } from '../../src/stages/builtin.js';
import { lines, removeTree, writeTree } from './helpers.js';

const registry = new StageRegistry();
registerBuiltinStages(registry);

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTree(dir);
  dir = undefined;
});

async function diagnostics(stages: string): Promise<string[] | true> {
  const text =
    'version: 1\nname: demo\nmodel: { build: { arch: mlp, units: [8], inputShape: [4], classes: 3 } }\n' +
    'data:\n  test: { uses: csv, file: t.csv }\ndevices:\n  phone: { runtime: wasm, budget: { size_kb: 100 } }\n' +
    `stages:\n  - { id: prune, uses: prune, with: { sparsity: 0.5, finetune: { epochs: 0 } } }\n  - { id: eval, uses: evaluate, needs: [prune], with: { devices: [phone] } }\n${stages}`;
  dir = await writeTree({ 'r.yaml': text, 't.csv': 'a,b,c,d,label\n0,0,0,0,0\n1,1,1,1,2\n' });
  const r = await loadRecipe(join(dir, 'r.yaml'), { registry, overrides: [], cwd: dir });
  return r.ok ? true : lines(r.diagnostics);
}

describe('select checks its needs before the run', () => {
  test('needs: [prune, eval] validates', async () => {
    expect(await diagnostics('  - { id: pick, uses: select, needs: [prune, eval] }\n')).toBe(true);
  });

  test('no evaluate stage upstream: located at `needs`', async () => {
    expect(await diagnostics('  - { id: pick, uses: select, needs: [prune] }\n')).toEqual([
      'r.yaml:11:38 bad-upstream: stage `pick`: select needs an evaluate stage in its `needs:`; it has prune (prune)',
    ]);
  });

  test('only the evaluate stage upstream: no candidate models', async () => {
    expect(await diagnostics('  - { id: pick, uses: select, needs: [eval] }\n')).toEqual([
      'r.yaml:11:38 bad-upstream: stage `pick`: select has no candidate models upstream: its `needs:` holds only eval',
    ]);
  });

  test('the default upstream (the previous stage, eval) is checked too, located at `uses`', async () => {
    expect(await diagnostics('  - { id: pick, uses: select }\n')).toEqual([
      'r.yaml:11:23 bad-upstream: stage `pick`: select has no candidate models upstream: its `needs:` holds only eval',
    ]);
  });

  test('`evaluate:` must name a stage of `needs:`, and an evaluate one', async () => {
    expect(await diagnostics('  - { id: pick, uses: select, needs: [prune, eval], with: { evaluate: evl } }\n')).toEqual([
      'r.yaml:11:71 bad-upstream: stage `pick`: `evaluate: evl` is not in this stage\'s `needs:` (prune (prune), eval (evaluate))',
    ]);
    expect(await diagnostics('  - { id: pick, uses: select, needs: [prune, eval], with: { evaluate: prune } }\n')).toEqual([
      'r.yaml:11:71 bad-upstream: stage `pick`: `evaluate: prune` names a prune stage, which judges no candidates',
    ]);
  });
});
