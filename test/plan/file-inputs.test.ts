/**
 * Files a stage declares with `fileInputs` (e.g. distill's teacher given by
 * path) enter its cache key: editing them changes the key and says why.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageRegistry } from '../../src/plugin-registry.js';
import { defineStage } from '../../src/plugin.js';
import { buildKeyContext } from '../../src/plan/key-context.js';
import { explainKeyChange, keyOf, keyRecord } from '../../src/plan/key-record.js';
import { graphOf, HEAD, useTempDirs, writeFiles } from './helpers.js';

const registry = () => {
  const r = new StageRegistry();
  r.register(
    defineStage({
      name: 'reads-devices',
      version: '1',
      outputs: ['report'],
      recipeInputs: ['devices'],
      async run() {
        throw new Error('not run here');
      },
    }),
  );
  r.register(
    defineStage<{ ref: string }>({
      name: 'reads-file',
      version: '1',
      outputs: ['model'],
      schema: { type: 'object', properties: { ref: { type: 'string' } }, required: ['ref'] },
      fileInputs: (c) => [c.ref],
      async run() {
        throw new Error('not run here');
      },
    }),
  );
  return r;
};

describe('fileInputs in cache keys', () => {
  const tempDir = useTempDirs();

  test('the digest of a declared directory is in the key record, and a change is explained', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'teacher/model.json': '{"a":1}', 'teacher/w.bin': 'abc' });
    const yaml = `${HEAD}stages:\n  - id: d\n    uses: reads-file\n    with: { ref: ./teacher }\n`;
    const graph = await graphOf(dir, yaml, registry());
    const recipe = { dir, seed: 0, plugins: [], data: {}, model: undefined } as never;
    const before = keyRecord(graph.nodes[0]!, [], await buildKeyContext(recipe, 'wasm', {}, graph));
    expect(Object.keys(before.files ?? {})).toEqual(['./teacher']);
    expect(before.files!['./teacher']).toMatch(/^sha256:[0-9a-f]{64}$/);

    await writeFile(join(dir, 'teacher', 'w.bin'), 'abd');
    const after = keyRecord(graph.nodes[0]!, [], await buildKeyContext(recipe, 'wasm', {}, graph));
    expect(keyOf(after)).not.toBe(keyOf(before));
    expect(explainKeyChange(before, after)).toEqual(['file ./teacher changed']);
  });
});

describe('recipeInputs in cache keys', () => {
  const tempDir = useTempDirs();

  test('a stage that reads devices gets them in its key; a budget change is explained', async () => {
    const dir = await tempDir();
    const yaml = `${HEAD}stages:\n  - id: e\n    uses: reads-devices\n`;
    const graph = await graphOf(dir, yaml, registry());
    const ctx = (kb: number) =>
      buildKeyContext({ dir, seed: 0, plugins: [], data: {}, devices: { phone: { runtime: 'wasm', budget: { size_kb: kb } } } } as never, 'wasm', {}, graph);
    const a = keyRecord(graph.nodes[0]!, [], await ctx(40));
    const b = keyRecord(graph.nodes[0]!, [], await ctx(30));
    expect(a.recipe).toEqual({ devices: { phone: { runtime: 'wasm', budget: { size_kb: 40 } } } });
    expect(explainKeyChange(a, b)).toEqual(['recipe.devices.phone.budget.size_kb: 40 -> 30']);
  });
});
