import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DataError } from '../../src/data/errors.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { mnistLoader } from '../../src/data/mnist.js';
import { FileHashCache } from '../../src/data/file-hash.js';
import { StageRegistry } from '../../src/plugin-registry.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { registerBuiltinStages } from '../../src/stages/builtin.js';

const ctx = { baseDir: '/nonexistent' };

describe('mnist `layout`', () => {
  it('`sequence` gives [28, 28]: 28 time steps of one pixel row each, the same values as the image layout', async () => {
    const seq = await mnistLoader.load({ split: 'test', limit: 3, layout: 'sequence' }, ctx);
    const img = await mnistLoader.load({ split: 'test', limit: 3 }, ctx);
    expect(seq.shape).toEqual([28, 28]);
    expect(seq.x.length).toBe(3 * 28 * 28);
    expect(Array.from(seq.y)).toEqual([7, 2, 1]);
    expect(Array.from(seq.x)).toEqual(Array.from(img.x));
    // Step 14 of the first digit (a 7) is a middle row: some ink in it, in [0, 1].
    const row = seq.x.subarray(14 * 28, 15 * 28);
    expect(Math.max(...row)).toBeGreaterThan(0.5);
  });

  it('describe() reports [28, 28] for `sequence` (what check-shapes compares with the model input)', async () => {
    const d = await mnistLoader.describe!({ split: 'test', limit: 5, layout: 'sequence' }, ctx);
    expect(d).toEqual({ shape: [28, 28], dtype: 'float32', classes: 10, labelled: true, examples: 5 });
    expect((await mnistLoader.describe!({ split: 'test', limit: 5, layout: 'flat' }, ctx)).shape).toEqual([784]);
    expect((await mnistLoader.describe!({ split: 'test', limit: 5, layout: 'image', channels: 3 }, ctx)).shape).toEqual([28, 28, 3]);
  });

  it('`size` goes with `sequence`: [h, w] is h steps of w pixels', async () => {
    const ds = await mnistLoader.load({ split: 'test', limit: 2, layout: 'sequence', size: [14, 20] }, ctx);
    expect(ds.shape).toEqual([14, 20]);
    expect(ds.x.length).toBe(2 * 14 * 20);
  });

  it('an absent `layout` keeps the old fingerprint (no cache invalidated); `sequence` is another dataset', async () => {
    const hashes = new FileHashCache();
    const fp = (o: object) => mnistLoader.fingerprint({ split: 'test', limit: 10, ...o }, { ...ctx, hashes });
    const plain = await fp({});
    expect(await fp({ layout: 'sequence' })).not.toBe(plain);
    expect(await fp({ layout: 'sequence' })).toBe((await mnistLoader.load({ split: 'test', limit: 10, layout: 'sequence' }, { ...ctx, hashes })).fingerprint);
  });

  it.each([
    [{ layout: 'sequence', flatten: true }, '`layout: sequence` contradicts `flatten: true`'],
    [{ layout: 'image', flatten: true }, '`layout: image` contradicts `flatten: true`'],
    [{ layout: 'sequence', channels: 3 }, '`layout: sequence` gives one grey value per pixel ([h, w]), so it cannot have `channels: 3`'],
  ])('refuses %j as a DataError at the `layout` option', async (opts, message) => {
    const err = await mnistLoader.describe!({ split: 'test', limit: 1, ...(opts as object) } as never, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ code: 'bad-option', option: 'layout' });
    expect((err as DataError).message).toContain(message);
  });

  it('`flatten: true` with `layout: flat` is consistent', async () => {
    const ds = await mnistLoader.load({ split: 'test', limit: 1, layout: 'flat', flatten: true }, ctx);
    expect(ds.shape).toEqual([784]);
  });

  describe('in a recipe', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mp-mnist-layout-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    async function validate(yaml: string) {
      await writeFile(join(dir, 'r.yaml'), yaml);
      const registry = new StageRegistry();
      registerBuiltinStages(registry);
      const loaders = new DatasetRegistry();
      registerBuiltinLoaders(loaders);
      return loadRecipe('r.yaml', { registry, loaders, cwd: dir });
    }

    it('a contradiction is located at `layout` in the recipe file, with what to do', async () => {
      const r = await validate(
        'version: 1\nname: seq\ndata:\n  train: { uses: mnist, split: test, limit: 20, layout: sequence, flatten: true }\nmodel:\n  build: { arch: mlp, units: [8] }\nstages:\n  - id: train\n    uses: train\n',
      );
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const d = r.diagnostics[0]!;
      expect(`${d.loc!.file}:${d.loc!.line}:${d.loc!.column} ${d.code}`).toBe('r.yaml:4:57 data-error');
      expect(d.message).toContain('`layout: sequence` contradicts `flatten: true`');
      expect(d.hints).toEqual(['remove `flatten: true`, or use `layout: flat`']);
    });

    it('`{ uses: mnist, split: train, layout: sequence }` infers the model input [28, 28]', async () => {
      const r = await validate(
        'version: 1\nname: seq\ndata:\n  train: { uses: mnist, split: test, limit: 20, layout: sequence }\nmodel:\n  build: { arch: mlp, units: [8] }\nstages:\n  - id: train\n    uses: train\n',
      );
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
      expect(r.value.model?.build?.inputShape).toEqual([28, 28]);
    });
  });
});
