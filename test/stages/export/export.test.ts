/**
 * The export stage on a small real model: a stock tfjs model that loads, a
 * packed file that packedIOHandler loads with identical predictions, the
 * model card, and the `to:` directory rules.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { packModel } from '../../../src/formats/packed.js';
import { packedIOHandler } from '../../../src/loader/index.js';
import { measureArtifactSize } from '../../../src/measure/size.js';
import { modelStats } from '../../../src/measure/model-stats.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef } from '../../../src/plugin.js';
import { exportStage } from '../../../src/stages/export/export.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, prunedCopy, trainSmallMlp, upstream } from '../evaluate/evaluate-helpers.js';

describe('export stage', () => {
  let h: Harness;
  let pruned: ArtifactRef;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    pruned = await prunedCopy(h, await trainSmallMlp(h), 0.9, 'p90');
  }, 120000);
  afterAll(() => h.cleanup());

  const selectUp = () => ({ ...upstream('pick', 'pick', pruned), metrics: { chosen: 'prune[s=0.9]', budgets: { met: true, message: 'ok' }, verdicts: { phone: { ok: true } } } });

  test('writes a loadable tfjs model, a packed file with identical predictions, and the model card; also into `to:`', async () => {
    const r = await h.run(exportStage, { to: 'dist/model' }, inputsOf(selectUp()), 'export');
    const out = r.outputs.model!;
    expect((await readdir(out)).sort()).toEqual(['group1-shard1of1.bin', 'model-card.json', 'model.json', 'model.mpk']);
    expect((await readdir(join(h.dir, 'dist/model'))).sort()).toEqual((await readdir(out)).sort());

    const tf = await h.engine.tf();
    const stock = await h.engine.loadModel(out);
    const original = await h.engine.loadModel(pruned.dir);
    const packed = await tf.loadLayersModel(packedIOHandler(new Uint8Array(await readFile(join(h.dir, 'dist/model', 'model.mpk')))));
    const x = tf.randomUniform([8, 784], 0, 1, 'float32', 3);
    const want = Array.from((original.predict(x) as any).dataSync() as Float32Array);
    expect(Array.from((stock.predict(x) as any).dataSync() as Float32Array)).toEqual(want);
    expect(Array.from((packed.predict(x) as any).dataSync() as Float32Array)).toEqual(want);
    [x, stock, original, packed].forEach((t) => t.dispose());

    const card = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    const size = await measureArtifactSize(pruned.dir);
    const stats = await modelStats(pruned.dir);
    const packedBytes = (await packModel(pruned.dir)).bytes.length;
    expect(card).toMatchObject({
      node: 'export',
      format: 'both',
      files: ['model.json', 'group1-shard1of1.bin', 'model.mpk'],
      source: { node: 'pick', stage: 'pick', digest: pruned.digest },
      sizeBytes: { raw: size.raw, gzip: size.gzip, brotli: size.brotli, packed: packedBytes },
      params: stats.params,
      nonZeros: stats.nonZeros,
      budgets: { met: true },
      verdicts: { phone: { ok: true } },
      lineage: { node: 'export', upstream: [{ node: 'pick', stage: 'pick', outputs: { model: pruned.digest }, metrics: { chosen: 'prune[s=0.9]' } }] },
    });
    expect(card.sizeKb.raw).toBe(size.raw / 1024);
    expect((await readFile(join(out, 'model.mpk'))).length).toBe(packedBytes);
    expect(r.metrics).toMatchObject({ source: 'pick', format: 'both', params: stats.params, to: 'dist/model' });
    // The card has no timestamps: a second export writes the same card.
    const again = await h.run(exportStage, {}, inputsOf(selectUp()), 'export');
    expect(await readFile(join(again.outputs.model!, 'model-card.json'), 'utf8')).toBe(await readFile(join(out, 'model-card.json'), 'utf8'));
  });

  test('format tfjs or packed only', async () => {
    const t = await h.run(exportStage, { format: 'tfjs' }, inputsOf(upstream('p', 'p', pruned)));
    expect((await readdir(t.outputs.model!)).sort()).toEqual(['group1-shard1of1.bin', 'model-card.json', 'model.json']);
    const p = await h.run(exportStage, { format: 'packed' }, inputsOf(upstream('p', 'p', pruned)));
    expect((await readdir(p.outputs.model!)).sort()).toEqual(['model-card.json', 'model.mpk']);
  });

  test('refuses a non-empty `to:` directory unless overwrite; never deletes other files', async () => {
    const dir = join(h.dir, 'taken');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'README'), 'mine');
    const err = await h.run(exportStage, { to: 'taken' }, inputsOf(upstream('p', 'p', pruned))).catch((e) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect(err.path).toEqual(['to']);
    expect(err.message).toBe('`to`: taken is not empty; refusing to overwrite it');
    await h.run(exportStage, { to: 'taken', overwrite: true, format: 'packed' }, inputsOf(upstream('p', 'p', pruned)));
    expect((await readdir(dir)).sort()).toEqual(['README', 'model-card.json', 'model.mpk']);

    await writeFile(join(h.dir, 'afile'), 'x');
    const file = await h.run(exportStage, { to: 'afile', overwrite: true }, inputsOf(upstream('p', 'p', pruned))).catch((e) => e);
    expect(file).toBeInstanceOf(StageConfigError);

    // Outside the project (the harness's folder has no package.json or .git above it: the project is the recipe's folder).
    const outside = join(h.dir, '..', `${basename(h.dir)}-outside`);
    const away = await h.run(exportStage, { to: `../${basename(outside)}` }, inputsOf(upstream('p', 'p', pruned))).catch((e) => e);
    expect(away).toBeInstanceOf(StageConfigError);
    expect(away.path).toEqual(['to']);
    expect(away.message).toBe(`\`to\`: ../${basename(outside)} resolves to ${outside}, outside the project ${h.dir}`);
    expect(existsSync(outside)).toBe(false);
    await h.run(exportStage, { to: `../${basename(outside)}`, allowOutside: true, format: 'packed' }, inputsOf(upstream('p', 'p', pruned)));
    expect((await readdir(outside)).sort()).toEqual(['model-card.json', 'model.mpk']);
    await rm(outside, { recursive: true, force: true });

    // Onto its own input (a cache entry), even with overwrite and allowOutside.
    const before = await readFile(join(pruned.dir, 'model.json'));
    const own = await h.run(exportStage, { to: pruned.dir, overwrite: true, allowOutside: true }, inputsOf(upstream('p', 'p', pruned))).catch((e) => e);
    expect(own).toBeInstanceOf(StageConfigError);
    expect(own.message).toBe(`\`to\`: ${pruned.dir} resolves to ${pruned.dir}, which is inside this stage's input ${pruned.dir}; refusing to write there (it would overwrite a cache entry)`);
    expect(await readFile(join(pruned.dir, 'model.json'))).toEqual(before);

    const none = await h.run(exportStage, {}, { upstream: [] }).catch((e) => e);
    expect(none.message).toContain('export needs a model: give the recipe a `model:` (from or build)');
  });
});
