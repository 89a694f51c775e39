import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { lines, removeTree, testRegistry, writeTree } from './helpers.js';

const HEAD = 'version: 1\nname: demo\n';
const STAGES = 'stages:\n  - id: prune\n    uses: prune\n';

interface Case {
  name: string;
  files: Record<string, string>;
  set?: string[];
  expected: string[];
}

// Each case: a recipe (r.yaml) plus any presets, and the exact diagnostics
// (file:line:column code: message) the validator must report.
const cases: Case[] = [
  {
    name: 'top-level typo suggests the right key',
    files: { 'r.yaml': `${HEAD}stage:\n  - id: a\n    uses: prune\n` },
    expected: [
      'r.yaml:1:1 missing-key: the recipe is missing the required key `stages`',
      'r.yaml:3:1 unknown-key: unknown key `stage` in the recipe (did you mean `stages`?)',
    ],
  },
  {
    name: 'typo inside a stage config',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { sparsty: 0.9 }\n` },
    expected: ['r.yaml:6:13 unknown-key: unknown key `sparsty` in `stages[0].with` (did you mean `sparsity`?)'],
  },
  {
    name: 'wrong type in a stage config',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { sparsity: high }\n` },
    expected: ['r.yaml:6:23 wrong-type: `stages[0].with.sparsity` must be a number, got the string "high"'],
  },
  {
    name: 'a number that overflows to Infinity is refused like .inf',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { sparsity: 1e999 }\n` },
    expected: ['r.yaml:6:23 wrong-type: `stages[0].with.sparsity` must be a number, got Infinity (numbers must be finite; a literal such as 1e999 overflows to Infinity)'],
  },
  {
    name: '`!!float 1` is the number 1, so the error names a number',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { method: !!float 1 }\n` },
    expected: ['r.yaml:6:29 bad-value: `stages[0].with.method` must be one of `magnitude`, `l1`, `l2`, got number 1'],
  },
  {
    name: 'out-of-range number',
    files: { 'r.yaml': `${HEAD}${STAGES}    with:\n      sparsity: 1.5\n` },
    expected: ['r.yaml:7:17 out-of-range: `stages[0].with.sparsity` must be <= 1, got 1.5'],
  },
  {
    name: 'enum value with a suggestion',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { method: magnitud }\n` },
    expected: [
      'r.yaml:6:21 bad-value: `stages[0].with.method` must be one of `magnitude`, `l1`, `l2`, got the string "magnitud" (did you mean `magnitude`?)',
    ],
  },
  {
    name: 'unknown stage type',
    files: { 'r.yaml': `${HEAD}stages:\n  - id: q\n    uses: quantise\n` },
    expected: ['r.yaml:5:11 unknown-stage: unknown stage type `quantise` (did you mean `quantize`?)'],
  },
  {
    name: 'missing var',
    files: { 'r.yaml': `${HEAD}vars: { s: 0.9 }\n${STAGES}    with: { sparsity: "\${vars.sparsity}" }\n` },
    expected: ['r.yaml:7:24 unknown-var: no var `sparsity`'],
  },
  {
    name: 'var used without vars section',
    files: { 'r.yaml': `${HEAD}${STAGES}    with: { sparsity: "\${vars.s}" }\n` },
    expected: ['r.yaml:6:24 unknown-var: `${vars.s}`: this recipe defines no `vars:`'],
  },
  {
    name: 'missing preset',
    files: { 'r.yaml': `${HEAD}extends: [./presets/phone.yaml]\n${STAGES}` },
    expected: ['r.yaml:3:11 preset-not-found: cannot find preset `./presets/phone.yaml`: no file `./presets/phone.yaml`'],
  },
  {
    name: 'missing shipped preset',
    files: { 'r.yaml': `${HEAD}extends: modelpress:devices/toaster\n${STAGES}` },
    expected: [
      "r.yaml:3:10 preset-not-found: cannot find preset `modelpress:devices/toaster`: no shipped preset `devices/toaster` in modelpress's pipelines/",
    ],
  },
  {
    name: 'extends cycle shown as a chain',
    files: {
      'r.yaml': `${HEAD}extends: [./a.yaml]\n${STAGES}`,
      'a.yaml': 'extends: [./b.yaml]\n',
      'b.yaml': 'extends: [./a.yaml]\n',
    },
    expected: ['b.yaml:1:11 extends-cycle: extends cycle: a.yaml -> b.yaml -> a.yaml'],
  },
  {
    name: 'alias bomb refused',
    files: {
      'r.yaml':
        `${HEAD}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n` +
        `c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n` +
        `e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n`,
    },
    expected: ['r.yaml:5:40 yaml-alias-limit: more than 100 alias expansions in one file (aliases inside aliases multiply)'],
  },
  {
    name: 'YAML syntax error',
    files: { 'r.yaml': `${HEAD}stages: [\n  - id: a\n` },
    expected: [
      'r.yaml:4:3 yaml-syntax: YAML syntax error: Block collections are not allowed within flow collections',
      'r.yaml:5:1 yaml-syntax: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'duplicate stage ids',
    files: { 'r.yaml': `${HEAD}${STAGES}  - id: prune\n    uses: quantize\n` },
    expected: ['r.yaml:6:9 duplicate-stage-id: duplicate stage id `prune` (first used by stages[0] at r.yaml:4:9)'],
  },
  {
    name: 'needs names no stage',
    files: { 'r.yaml': `${HEAD}${STAGES}  - id: q\n    uses: quantize\n    needs: [prun]\n` },
    expected: ['r.yaml:8:13 unknown-need: `needs` names no stage `prun` (did you mean `prune`?)'],
  },
  {
    name: 'wrong version',
    files: { 'r.yaml': `version: 2\nname: demo\n${STAGES}` },
    expected: ['r.yaml:1:10 bad-value: `version` must be 1, got number 2'],
  },
  {
    name: 'invalid recipe name',
    files: { 'r.yaml': `version: 1\nname: My Recipe\n${STAGES}` },
    expected: ['r.yaml:2:7 bad-value: `name` has an invalid value the string "My Recipe"'],
  },
  {
    name: 'device runtime typo',
    files: { 'r.yaml': `${HEAD}devices:\n  phone: { runtime: wsam }\n${STAGES}` },
    expected: [
      'r.yaml:4:21 bad-value: `devices.phone.runtime` must be one of `wasm`, `cpu`, `tfjs-node`, `browser`, `tflite`, got the string "wsam" (did you mean `wasm`?)',
    ],
  },
  {
    name: 'budget key typo',
    files: { 'r.yaml': `${HEAD}devices:\n  phone:\n    runtime: wasm\n    budget: { size_kbb: 40 }\n${STAGES}` },
    expected: ['r.yaml:6:15 unknown-key: unknown key `size_kbb` in `devices.phone.budget` (did you mean `size_kb`?)'],
  },
  {
    name: 'model with both from and build',
    // ./m exists: this case is about the schema, not the missing-model check.
    files: { 'r.yaml': `${HEAD}model:\n  from: ./m\n  build: { arch: mlp }\n${STAGES}`, 'm/model.json': '{}' },
    expected: ['r.yaml:3:1 bad-value: `model` needs exactly one of `from`, `build`'],
  },
  {
    name: 'an error inside a preset points into the preset',
    files: {
      'r.yaml': `${HEAD}extends: [./team.yaml]\n${STAGES}`,
      'team.yaml': 'devices:\n  phone:\n    runtime: wasm\n    threads: 0\n',
    },
    expected: ['team.yaml:4:14 out-of-range: `devices.phone.threads` must be >= 1, got 0'],
  },
  {
    name: 'bad override value is located in the override',
    files: { 'r.yaml': `${HEAD}${STAGES}` },
    set: ['stages.prune.with.sparsity=lots'],
    expected: ['<--set>:1:34 wrong-type: `stages[0].with.sparsity` must be a number, got the string "lots"'],
  },
  {
    name: 'override names a missing stage',
    files: { 'r.yaml': `${HEAD}${STAGES}` },
    set: ['stages.prun.with.sparsity=0.9'],
    expected: ['<--set>:1:7 bad-override: stages: no item with id `prun` (did you mean `prune`?)'],
  },
  {
    name: 'matrix value out of range is reported with its combination',
    files: { 'r.yaml': `${HEAD}${STAGES}    matrix: { s: [0.5, 2] }\n    with: { sparsity: "\${matrix.s}" }\n` },
    expected: ['r.yaml:7:23 out-of-range: `stages[0].with.sparsity` must be <= 1, got 2 (with matrix s=2)'],
  },
  {
    name: 'matrix reference to an undeclared key',
    files: { 'r.yaml': `${HEAD}${STAGES}    matrix: { s: [0.5] }\n    with: { sparsity: "\${matrix.sp}" }\n` },
    expected: ['r.yaml:7:24 unknown-matrix-key: no matrix key `sp` (did you mean `s`?)'],
  },
  {
    name: 'every problem is reported at once',
    files: { 'r.yaml': `version: 1\nname: demo\nstages:\n  - id: a\n    uses: prun\n  - id: b\n    uses: quantize\n    with: { weights: int8 }\n` },
    expected: [
      'r.yaml:5:11 unknown-stage: unknown stage type `prun` (did you mean `prune`?)',
      'r.yaml:8:22 bad-value: `stages[1].with.weights` must be one of `uint8`, `uint16`, `float16`, got the string "int8" (did you mean `uint8`?)',
    ],
  },
];

describe('recipe validation diagnostics', () => {
  test.each(cases)('$name', async ({ files, set, expected }) => {
    const dir = await writeTree(files);
    try {
      const result = await loadRecipe(join(dir, 'r.yaml'), { registry: testRegistry(), overrides: set ?? [], cwd: dir });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(lines(result.diagnostics)).toEqual(expected);
    } finally {
      await removeTree(dir);
    }
  });

  // Dataset options are checked against each loader's own schema, like stages.
  test.each([
    {
      name: 'unknown loader with a suggestion',
      data: 'data:\n  train: { uses: mnsit, split: train }\n',
      expected: ['r.yaml:4:18 unknown-loader: unknown dataset loader `mnsit` (did you mean `mnist`?)'],
    },
    {
      name: 'bad loader option value',
      data: 'data:\n  train: { uses: mnist, split: training }\n',
      expected: ['r.yaml:4:32 bad-value: `data.train.split` must be one of `train`, `test`, got the string "training"'],
    },
    {
      name: 'unknown loader option',
      data: 'data:\n  train:\n    uses: mnist\n    split: train\n    limt: 10\n',
      expected: ['r.yaml:7:5 unknown-key: unknown key `limt` in `data.train` (did you mean `limit`?)'],
    },
  ])('data: $name', async ({ data, expected }) => {
    const dir = await writeTree({ 'r.yaml': `${HEAD}${data}${STAGES}` });
    try {
      const loaders = new DatasetRegistry();
      registerBuiltinLoaders(loaders);
      const result = await loadRecipe(join(dir, 'r.yaml'), { registry: testRegistry(), loaders, cwd: dir });
      if (result.ok) throw new Error('expected failure');
      expect(lines(result.diagnostics)).toEqual(expected);
    } finally {
      await removeTree(dir);
    }
  });

  test('diagnostics carry the offending line for the caret', async () => {
    const dir = await writeTree({ 'r.yaml': `${HEAD}${STAGES}    with: { sparsty: 0.9 }\n` });
    try {
      const result = await loadRecipe(join(dir, 'r.yaml'), { registry: testRegistry(), cwd: dir });
      if (result.ok) throw new Error('expected failure');
      const [d] = result.diagnostics;
      expect(d!.loc).toMatchObject({ line: 6, column: 13, length: 7, sourceLine: '    with: { sparsty: 0.9 }' });
      expect(d!.hints).toEqual(['allowed keys: `sparsity`, `method`, `epochs`']);
    } finally {
      await removeTree(dir);
    }
  });
});
