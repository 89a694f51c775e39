import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { fingerprintData } from '../../src/plan/data-fingerprints.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { IMAGES_DIR } from '../data/image-fixtures.js';
import { HEAD, lines, planRegistry, useTempDirs, writeFiles } from './helpers.js';

const tempDir = useTempDirs();

function loaders(): DatasetRegistry {
  const r = new DatasetRegistry();
  registerBuiltinLoaders(r);
  return r;
}

/** Loads `r.yaml` (written into `dir`) with the built-in loaders and fingerprints its data. */
async function fingerprintsOf(dir: string, yaml: string) {
  await writeFiles(dir, { 'r.yaml': yaml });
  const registry = loaders();
  const recipe = await loadRecipe(join(dir, 'r.yaml'), { registry: planRegistry(), loaders: registry, cwd: dir });
  if (!recipe.ok) throw new Error(`recipe did not load:\n${lines(recipe.diagnostics).join('\n')}`);
  return fingerprintData(recipe.value, registry);
}

describe('fingerprintData: images folders that cannot make a dataset are located at the option', () => {
  it.each<[string, (dir: string) => Promise<void>, string, string[]]>([
    [
      'an empty class folder (only a .gitkeep)',
      async (dir) => {
        await cp(join(IMAGES_DIR, 'folders'), join(dir, 'photos'), { recursive: true });
        await mkdir(join(dir, 'photos/nine'));
        await writeFile(join(dir, 'photos/nine/.gitkeep'), '');
      },
      'r.yaml:5:32 data-error: dataset `train`: photos/nine: class folder `nine` has no images',
      ['put .jpg, .jpeg or .png files in it (hidden files are ignored)'],
    ],
    [
      'a folder with no images',
      async (dir) => {
        await mkdir(join(dir, 'photos'));
        await writeFile(join(dir, 'photos/notes.txt'), 'x');
      },
      'r.yaml:5:32 data-error: dataset `train`: photos: no images in this folder',
      ['only .jpg, .jpeg and .png files are read; skipped 1 other file(s): notes.txt'],
    ],
  ])('%s', async (_name, setup, line, hints) => {
    const dir = await tempDir();
    await setup(dir);
    const yaml = `${HEAD}data:\n  test: { uses: mnist, split: test, limit: 1 }\n  train: { uses: images, path: photos, size: [8, 8] }\nstages:\n  - { id: e, uses: evaluate }\n`;
    const r = await fingerprintsOf(dir, yaml);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(lines(r.diagnostics)).toEqual([line]);
    expect(r.diagnostics[0]!.hints).toEqual(hints);
    expect(r.diagnostics[0]!.path).toBe('data.train.path');
  });

  it('a normalize mean that does not fit `channels` is located at `normalize`, not a crash', async () => {
    const dir = await tempDir();
    await cp(join(IMAGES_DIR, 'folders'), join(dir, 'photos'), { recursive: true });
    const yaml = `${HEAD}data:\n  train:\n    uses: images\n    path: photos\n    size: [8, 8]\n    normalize: { mean: [0.5, 0.5], std: [0.5] }\nstages:\n  - { id: e, uses: evaluate }\n`;
    const r = await fingerprintsOf(dir, yaml);
    expect(r.ok ? [] : lines(r.diagnostics)).toEqual(['r.yaml:8:16 data-error: dataset `train`: photos: Expected normalize.mean to have 1 or 3 values (channels: 3), got 2']);
  });

  it('both `path` and `list` is one diagnostic at `list`', async () => {
    const dir = await tempDir();
    await cp(IMAGES_DIR, join(dir, 'photos'), { recursive: true });
    const r = await fingerprintsOf(dir, `${HEAD}data:\n  train: { uses: images, path: photos/folders, list: photos/list.csv, size: [8, 8] }\nstages:\n  - { id: e, uses: evaluate }\n`);
    expect(r.ok ? [] : lines(r.diagnostics)).toEqual(['r.yaml:4:54 data-error: dataset `train`: photos/list.csv: give `path` (a folder) or `list` (a list file), not both']);
  });

  it('a corrupt image is not a planning error: fingerprints hash bytes, decoding happens at load', async () => {
    const dir = await tempDir();
    await cp(join(IMAGES_DIR, 'corrupt'), join(dir, 'photos'), { recursive: true });
    const r = await fingerprintsOf(dir, `${HEAD}data:\n  train: { uses: images, path: photos, size: [8, 8] }\nstages:\n  - { id: e, uses: evaluate }\n`);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.train).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
