/**
 * `export` with `foldBatchNorm: true` on the functional fixture: the tfjs
 * files and the packed file hold the folded graph (fewer layers and
 * parameters, same predictions within 1e-5 relative), and the model card
 * says what was folded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { packedIOHandler } from '../../../src/loader/index.js';
import { exportStage } from '../../../src/stages/export/export.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, upstream } from '../evaluate/evaluate-helpers.js';
import { functionalInputs, maxRelDiff, saveFunctionalModel, stockLoad } from '../../helpers/functional-model.js';

describe('export: foldBatchNorm', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.cleanup());

  test('the exported tfjs and packed models are folded: 9 BNs gone, same predictions, listed in the card', async () => {
    const tf = await h.engine.tf();
    const { model: original, saved } = await saveFunctionalModel(h.engine, join(h.dir, 'models'));
    const ref = await h.artifact(saved);
    const r = await h.run(exportStage, { foldBatchNorm: true }, inputsOf(upstream('m', 'model', ref)), 'export');
    const out = r.outputs.model!;
    const card = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    expect(card.foldBatchNorm.folded).toHaveLength(9);
    expect(card.foldBatchNorm.folded[0]).toEqual({ batchNorm: 'bn_Conv1', into: 'Conv1' });
    expect(card.params).toBe(original.countParams() - 3 * 100);
    expect((r.metrics as Record<string, any>).foldBatchNorm).toEqual(card.foldBatchNorm);
    const x = tf.tensor(functionalInputs(6, 17), [6, 8, 8, 3]);
    const want = (original.predict(x) as Tensor).dataSync();
    const stock = await stockLoad(tf, out);
    const packed = await tf.loadLayersModel(packedIOHandler(new Uint8Array(await readFile(join(out, 'model.mpk')))));
    for (const m of [stock, packed] as LayersModel[]) {
      expect(m.layers).toHaveLength(original.layers.length - 9);
      expect(m.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
      expect(maxRelDiff((m.predict(x) as Tensor).dataSync(), want)).toBeLessThan(1e-5);
    }
  });

  test('without it, the export is the upstream model as it was', async () => {
    const { model: original, saved } = await saveFunctionalModel(h.engine, join(h.dir, 'models2'));
    const r = await h.run(exportStage, { format: 'tfjs' }, inputsOf(upstream('m', 'model', await h.artifact(saved))), 'export2');
    const card = JSON.parse(await readFile(join(r.outputs.model!, 'model-card.json'), 'utf8'));
    expect(card.foldBatchNorm).toBeUndefined();
    expect(card.params).toBe(original.countParams());
    expect(await readFile(join(r.outputs.model!, 'model.json'))).toEqual(await readFile(join(saved, 'model.json')));
  });
});
