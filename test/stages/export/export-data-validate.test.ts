/**
 * Export's `data:` is checked by `validate` like any dataset a stage reads,
 * before anything runs: an undeclared name, and a text dataset whose
 * sequence length is not the model's input (its vocabulary would describe
 * ids of another shape), are located errors.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../../src/data/builtin.js';
import { DatasetRegistry } from '../../../src/data/loader.js';
import { StageRegistry } from '../../../src/plugin-registry.js';
import { loadRecipe } from '../../../src/recipe/load-recipe.js';
import { registerBuiltinStages } from '../../../src/stages/builtin.js';
import { lines, removeTree, writeTree } from '../../recipe/helpers.js';

const SAMPLE = join(import.meta.dirname, '../../../examples/text/sample/fortunes-sample.tsv');

const recipe = (length: number, data: string) => `version: 1
name: t
model: { build: { arch: gru, inputShape: [16], embedding: { vocabulary: 100, dimensions: 4 }, units: [4], classes: 5 } }
data:
  train: { uses: text, file: ./f.tsv, length: ${length}, vocabulary: 100 }
stages:
  - id: export
    uses: export
    with: { data: ${data} }
`;

async function validate(text: string): Promise<string[]> {
  const dir = await writeTree({ 'r.yaml': text });
  try {
    await copyFile(SAMPLE, join(dir, 'f.tsv'));
    const registry = new StageRegistry();
    registerBuiltinStages(registry);
    const loaders = new DatasetRegistry();
    registerBuiltinLoaders(loaders);
    const r = await loadRecipe('r.yaml', { registry, loaders, overrides: [], cwd: dir });
    return r.ok ? [] : lines(r.diagnostics);
  } finally {
    await removeTree(dir);
  }
}

describe('validate: export `data:`', () => {
  test('the training dataset, fitting the model: no diagnostics', async () => {
    expect(await validate(recipe(16, 'train'))).toEqual([]);
  });

  test('an undeclared name is located at the value', async () => {
    expect(await validate(recipe(16, 'trian'))).toEqual([
      'r.yaml:9:19 unknown-dataset: `stages[0].with.data` names dataset `trian`, but `data:` declares no `trian` (did you mean `train`?)',
    ]);
  });

  test('a text dataset of another length than the model input is refused', async () => {
    expect(await validate(recipe(32, 'train'))).toEqual([
      'r.yaml:9:19 shape-mismatch: dataset `train` has 32 features per example but the model stage `export` feeds it to takes [16]: set `model.build.inputShape: [32]` or remove it to infer it from `train`',
    ]);
  });
});
