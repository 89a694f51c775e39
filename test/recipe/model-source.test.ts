/**
 * The recipe's `model:` becomes the first node, `model`: the default
 * upstream of the first stage and a stage id `needs:` may name. Validation
 * against the real built-in stages (the `model` stage's schema applies).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { buildGraph } from '../../src/plan/graph.js';
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

async function load(text: string, files: Record<string, string> = {}) {
  dir = await writeTree({ 'r.yaml': text, ...files });
  return loadRecipe(join(dir, 'r.yaml'), { registry, overrides: [], cwd: dir });
}

const HEAD = 'version: 1\nname: demo\n';

describe('the recipe model as a source node', () => {
  test('the first stage without `needs:` starts from `model`; later stages keep the previous-stage default', async () => {
    const r = await load(`${HEAD}model: { build: { arch: mlp, units: [8], inputShape: [4], classes: 3 } }\ndata:\n  test: { uses: csv, file: t.csv }\nstages:\n  - { id: q, uses: quantize }\n  - { id: e, uses: evaluate, needs: [model, q], with: { reference: model } }\n  - { id: x, uses: export }\n`, { 't.csv': 'a,b,c,d,label\n0,0,0,0,0\n1,1,1,1,2\n' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const g = buildGraph(r.value, registry);
    expect(g.ok).toBe(true);
    if (!g.ok) return;
    expect(g.value.nodes.map((n) => [n.id, n.def.name, n.inputs])).toEqual([
      ['model', 'model', []],
      ['q', 'quantize', ['model']],
      ['e', 'evaluate', ['model', 'q']],
      ['x', 'export', ['e']],
    ]);
    // The build spec with the defaults of `$defs.build` applied is the node's config (it enters the key).
    expect(g.value.nodes[0]!.config).toEqual({ build: { arch: 'mlp', units: [8], inputShape: [4], classes: 3, kernelSize: 3, activation: 'relu', dropout: 0 } });
  });

  test('no `model:`: no source node, and the first stage has no upstream', async () => {
    const r = await load(`${HEAD}data:\n  train: { uses: csv, file: t.csv }\nstages:\n  - { id: t, uses: train, with: { build: { arch: mlp }, data: train } }\n`, { 't.csv': 'a,b,label\n0,0,0\n1,1,1\n' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const g = buildGraph(r.value, registry);
    expect(g.ok && g.value.nodes.map((n) => [n.id, n.inputs])).toEqual([['t', []]]);
  });

  test('`needs: [model]` without a recipe model, and a stage that takes the id `model`, are located errors', async () => {
    const a = await load(`${HEAD}stages:\n  - { id: q, uses: quantize, needs: [model] }\n`);
    expect(!a.ok && lines(a.diagnostics)).toEqual(['r.yaml:4:38 unknown-need: `needs` names no stage `model`']);
    const b = await load(`${HEAD}model: { from: ./m }\nstages:\n  - { id: model, uses: quantize }\n`, { 'm/model.json': '{}' });
    expect(!b.ok && lines(b.diagnostics)).toEqual(["r.yaml:5:11 duplicate-stage-id: stage id `model` is taken by the recipe's `model:` (at r.yaml:3:1)"]);
  });

  test('a bad `model.build` is reported at the recipe\'s `model:`', async () => {
    const r = await load(`${HEAD}model: { build: { arch: mlp, units: [0] } }\nstages:\n  - { id: q, uses: quantize }\n`);
    expect(!r.ok && lines(r.diagnostics)).toEqual(['r.yaml:3:38 out-of-range: `model.build.units[0]` must be >= 1, got 0']);
  });
});
