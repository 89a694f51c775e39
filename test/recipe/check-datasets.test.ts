import { DatasetRegistry } from '../../src/data/loader.js';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { StageRegistry } from '../../src/plugin-registry.js';
import { defineStage } from '../../src/plugin.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { registerBuiltinStages } from '../../src/stages/builtin.js';
import { lines, removeTree, writeTree } from './helpers.js';

const HEAD = 'version: 1\nname: demo\nmodel: { build: { arch: mlp, units: [8] } }\n';
const DATA = 'data:\n  train: { uses: mnist, split: train }\n  tst: { uses: mnist, split: test }\n';

/** A plugin stage that reads the dataset named by `with.source.name` (nested, no default). */
const reader = defineStage<{ source?: { name: string } }>({
  name: 'reader',
  version: '1',
  outputs: [],
  schema: { type: 'object', additionalProperties: false, properties: { source: { type: 'object', properties: { name: { type: 'string' } } } } },
  datasets: (config) => (config.source ? [['source', 'name']] : []),
  async run() {
    throw new Error('not run by validation tests');
  },
});

interface Case {
  name: string;
  recipe: string;
  set?: string[];
  expected: string[];
}

// Each case: a recipe whose stages name datasets, and the exact diagnostics.
const cases: Case[] = [
  {
    name: "evaluate's default `test`, not declared: located at the stage's `uses`",
    recipe: `${HEAD}${DATA}stages:\n  - id: train\n    uses: train\n  - id: eval\n    uses: evaluate\n`,
    expected: [
      'r.yaml:11:11 unknown-dataset: stage `eval` reads dataset `test` (the default of `with.data`), but `data:` declares no `test` (did you mean `tst`?)',
    ],
  },
  {
    name: 'an explicit name, not declared: located at the value',
    recipe: `${HEAD}${DATA}stages:\n  - id: train\n    uses: train\n    with: { eval: valid }\n`,
    expected: ['r.yaml:10:19 unknown-dataset: `stages[0].with.eval` names dataset `valid`, but `data:` declares no `valid`'],
  },
  {
    name: 'a nested name (validation.data) with a suggestion',
    recipe: `${HEAD}${DATA}stages:\n  - id: train\n    uses: train\n    with:\n      validation: { data: trian }\n`,
    expected: ['r.yaml:11:27 unknown-dataset: `stages[0].with.validation.data` names dataset `trian`, but `data:` declares no `trian` (did you mean `train`?)'],
  },
  {
    name: 'a default only read when the option is on: finetune.data with epochs 0 is not checked',
    recipe: `${HEAD}data:\n  test: { uses: mnist, split: test }\nstages:\n  - id: prune\n    uses: prune\n    with: { sparsity: 0.5 }\n`,
    expected: [],
  },
  {
    name: '...and is checked once fine-tuning is on',
    recipe: `${HEAD}data:\n  test: { uses: mnist, split: test }\nstages:\n  - id: prune\n    uses: prune\n    with: { sparsity: 0.5, finetune: { epochs: 1 } }\n`,
    expected: [
      'r.yaml:8:11 unknown-dataset: stage `prune` reads dataset `train` (the default of `with.finetune.data`), but `data:` declares no `train`',
    ],
  },
  {
    name: 'no `data:` at all',
    recipe: `${HEAD}stages:\n  - id: train\n    uses: train\n`,
    expected: ['r.yaml:6:11 unknown-dataset: stage `train` reads dataset `train` (the default of `with.data`), but the recipe declares no `data:`'],
  },
  {
    name: 'a --set override is located in <--set>',
    recipe: `${HEAD}${DATA}stages:\n  - id: train\n    uses: train\n`,
    set: ['stages[0].with.data=tests'],
    expected: ['<--set>:1:27 unknown-dataset: `stages[0].with.data` names dataset `tests`, but `data:` declares no `tests`'],
  },
  {
    name: 'matrix: each combination is checked, the message says which',
    recipe: `${HEAD}${DATA}stages:\n  - id: train\n    uses: train\n    matrix: { d: [train, trn] }\n    with: { data: "\${matrix.d}" }\n`,
    expected: [
      'r.yaml:11:19 unknown-dataset: `stages[0].with.data` names dataset `trn`, but `data:` declares no `trn` (with matrix d=trn)',
    ],
  },
  {
    name: 'a plugin stage declares its dataset fields with `datasets`',
    recipe: `${HEAD}${DATA}stages:\n  - id: r\n    uses: reader\n    with: { source: { name: tset } }\n`,
    expected: ['r.yaml:10:29 unknown-dataset: `stages[0].with.source.name` names dataset `tset`, but `data:` declares no `tset` (did you mean `tst`?)'],
  },
];

describe('validate: datasets named by stages must be declared', () => {
  test.each(cases)('$name', async ({ recipe, set, expected }) => {
    const dir = await writeTree({ 'r.yaml': recipe });
    try {
      const registry = new StageRegistry();
      registerBuiltinStages(registry);
      registry.register(reader, 'test');
      const loaders = new DatasetRegistry();
      registerBuiltinLoaders(loaders);
      const r = await loadRecipe('r.yaml', { registry, loaders, overrides: set ?? [], cwd: dir });
      expect(r.ok ? [] : lines(r.diagnostics)).toEqual(expected);
    } finally {
      await removeTree(dir);
    }
  });
});
