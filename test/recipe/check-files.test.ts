import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { lines, removeTree, testRegistry, writeTree } from './helpers.js';

const HEAD = 'version: 1\nname: demo\n';
const STAGES = 'stages:\n  - id: prune\n    uses: prune\n';

interface Case {
  name: string;
  files: Record<string, string>;
  expected: (dir: string) => string[];
}

// Each case: a recipe r.yaml (in a temp dir, plus the files it may name) and the exact diagnostics.
const cases: Case[] = [
  {
    name: 'a missing csv file, located at the option, with the resolved path',
    files: { 'r.yaml': `${HEAD}data:\n  train: { uses: csv, file: ./data/x.csv }\n${STAGES}` },
    expected: (dir) => [`r.yaml:4:29 file-not-found: file not found: ./data/x.csv (resolved to ${dir}/data/x.csv)`],
  },
  {
    name: 'every file option of a loader is checked (idx images and labels); present files pass',
    files: {
      'r.yaml': `${HEAD}data:\n  train:\n    uses: idx\n    images: ./imgs.idx\n    labels: ./lbls.idx\n${STAGES}`,
      'imgs.idx': 'x',
    },
    expected: (dir) => [`r.yaml:7:13 file-not-found: file not found: ./lbls.idx (resolved to ${dir}/lbls.idx)`],
  },
  {
    name: 'a directory where a file is expected (npy)',
    files: { 'r.yaml': `${HEAD}data:\n  train: { uses: npy, x: ./arrays, y: ./arrays/y.npy }\n${STAGES}`, 'arrays/y.npy': 'y' },
    expected: (dir) => [`r.yaml:4:26 file-not-found: not a file: ./arrays (resolved to ${dir}/arrays)`],
  },
  {
    name: 'mnist names no files: nothing to check',
    files: { 'r.yaml': `${HEAD}data:\n  train: { uses: mnist, split: train }\n${STAGES}` },
    expected: () => [],
  },
  {
    name: 'a missing model.from directory',
    files: { 'r.yaml': `${HEAD}model: { from: ./models/lenet }\n${STAGES}` },
    expected: (dir) => [`r.yaml:3:16 file-not-found: model not found: ./models/lenet (resolved to ${dir}/models/lenet)`],
  },
  {
    name: 'a model directory without model.json',
    files: { 'r.yaml': `${HEAD}model: { from: ./models }\n${STAGES}`, 'models/readme.txt': 'x' },
    expected: (dir) => [`r.yaml:3:16 file-not-found: no model.json in the model directory: ./models (resolved to ${dir}/models)`],
  },
  {
    name: 'model.from naming model.json itself passes',
    files: { 'r.yaml': `${HEAD}model: { from: ./m/model.json }\n${STAGES}`, 'm/model.json': '{}' },
    expected: () => [],
  },
];

describe('validate: files the recipe names must exist', () => {
  test.each(cases)('$name', async ({ files, expected }) => {
    const dir = await writeTree(files);
    try {
      const loaders = new DatasetRegistry();
      registerBuiltinLoaders(loaders);
      const r = await loadRecipe('r.yaml', { registry: testRegistry(), loaders, cwd: dir });
      expect(r.ok ? [] : lines(r.diagnostics)).toEqual(expected(dir));
    } finally {
      await removeTree(dir);
    }
  });
});
