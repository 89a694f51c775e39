import { join } from 'node:path';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { removeTree, testRegistry, writeTree } from './helpers.js';

const files = {
  'team/base.yaml': [
    'vars: { sparsity: 0.8, bits: 8 }',
    'seed: 7',
    'devices:',
    '  phone:',
    '    runtime: wasm',
    '    budget: { size_kb: 40, latency_ms_p95: 2 }',
    'stages:',
    '  - id: from-preset',
    '    uses: prune',
    '',
  ].join('\n'),
  'r.yaml': [
    'version: 1',
    'name: lenet300-phone',
    'extends: [./team/base.yaml, modelpress:devices/web-mobile]',
    'vars: { sparsity: 0.92 }',
    'devices:',
    '  phone:',
    '    budget: { size_kb: 30 }',
    'stages:',
    '  - id: prune',
    '    uses: prune',
    '    with: { sparsity: "${vars.sparsity}", method: l1 }',
    '  - id: quantize',
    '    uses: quantize',
    '    with: { weights: "uint${vars.bits}" }',
    '  - id: sweep',
    '    uses: prune',
    '    needs: [prune]',
    '    matrix: { s: [0.5, 0.9] }',
    '    with: { sparsity: "${matrix.s}" }',
    '',
  ].join('\n'),
};

describe('recipe resolution', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTree(files);
  });
  afterAll(() => removeTree(dir));

  test('extends merge deeply, the recipe wins, lists are replaced, vars keep their type', async () => {
    const r = await loadRecipe(join(dir, 'r.yaml'), { registry: testRegistry(), cwd: dir });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const v = r.value;
    expect(v.seed).toBe(7);
    // Deep merge: runtime from the preset, size_kb from the recipe, latency kept from the preset.
    expect(v.devices.phone).toEqual({ runtime: 'wasm', threads: 1, batch: 1, budget: { size_kb: 30, latency_ms_p95: 2 } });
    // The shipped preset contributed a second device.
    expect(Object.keys(v.devices).sort()).toEqual(['phone', 'web-mobile']);
    // Lists are replaced: the preset's stage is gone.
    expect(v.stages.map((s) => s.id)).toEqual(['prune', 'quantize', 'sweep']);
    // A whole-value reference keeps the number type; the recipe's var wins over the preset's.
    expect(v.stages[0]!.with).toEqual({ sparsity: 0.92, method: 'l1', epochs: 0 });
    // Inside a longer string the var is spliced in as text.
    expect(v.stages[1]!.with).toEqual({ weights: 'uint8' });
    // Default needs: the previous stage; explicit needs kept.
    expect(v.stages.map((s) => s.needs)).toEqual([[], ['prune'], ['prune']]);
    expect(v.stages[2]!.matrix).toEqual({ s: [0.5, 0.9] });
    expect(v.sources).toEqual([join(dir, 'team/base.yaml'), expect.stringMatching(/pipelines\/devices\/web-mobile\.yaml$/), join(dir, 'r.yaml')]);
  });

  test('--set overrides apply after extends and before vars, addressing stages by id or index', async () => {
    const r = await loadRecipe(join(dir, 'r.yaml'), {
      registry: testRegistry(),
      cwd: dir,
      overrides: ['vars.sparsity=0.95', 'stages[1].with.weights=float16', 'devices.phone.budget.accuracy_drop_pp=0.5', 'stages.prune.with.method=l2'],
    });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    expect(r.value.stages[0]!.with).toEqual({ sparsity: 0.95, method: 'l2', epochs: 0 });
    expect(r.value.stages[1]!.with).toEqual({ weights: 'float16' });
    expect(r.value.devices.phone!.budget).toEqual({ size_kb: 30, latency_ms_p95: 2, accuracy_drop_pp: 0.5 });
    expect(r.value.overrides).toHaveLength(4);
  });

  test('$${ writes a literal ${', async () => {
    const d = await writeTree({
      'r.yaml': 'version: 1\nname: x\ndescription: "costs $${vars.none}"\nstages:\n  - id: a\n    uses: prune\n',
    });
    try {
      const r = await loadRecipe(join(d, 'r.yaml'), { registry: testRegistry(), cwd: d });
      if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
      expect(r.value.description).toBe('costs ${vars.none}');
    } finally {
      await removeTree(d);
    }
  });

  test('a recipe file over the size limit is refused before parsing', async () => {
    const d = await writeTree({ 'r.yaml': `version: 1\nname: x\n# ${'x'.repeat(1024 * 1024)}\n` });
    try {
      const r = await loadRecipe(join(d, 'r.yaml'), { registry: testRegistry(), cwd: d });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.diagnostics[0]!.code).toBe('file-too-large');
      expect(r.diagnostics[0]!.message).toMatch(/^r\.yaml is 1048598 bytes; recipe and preset files are limited to 1048576 bytes$/);
    } finally {
      await removeTree(d);
    }
  });
});
