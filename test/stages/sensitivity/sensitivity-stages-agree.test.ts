/**
 * The sensitivity points that act beyond a kernel equal what the real stage
 * gives for the same setting on that layer alone:
 * - a dtype point quantizes every tensor of the layer the quantize stage
 *   stores in that dtype (its `minSize` rule: dense1's 300-entry bias too),
 *   so the point, the size model and quantize agree;
 * - a structured point is the prune stage's `method: structured` (L1 norms)
 *   on that layer; the output layer, which cannot lose units, is skipped.
 */
import { join } from 'node:path';
import type { LayerVariable } from '@tensorflow/tfjs';
import type { Json } from '../../../src/plugin.js';
import { decodeSensitivity } from '../../../src/contracts/sensitivity.js';
import type { Sensitivity } from '../../../src/contracts/sensitivity.js';
import { splitDataset } from '../../../src/data/dataset.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { sensitivityStage } from '../../../src/stages/sensitivity/sensitivity.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { evaluateAccuracy } from '../../../src/stages/training/train-loop.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

describe('sensitivity points agree with the stages', () => {
  let h: Harness;
  let model: string;
  let s: Sensitivity;
  const SAMPLES = 150;

  const calibAccuracy = async (dir: string) => {
    const ctx = h.ctx();
    const calib = splitDataset(splitDataset(await ctx.data('train'), 0.1, ctx.seed)[1], SAMPLES / 200, ctx.seed)[1];
    return (await evaluateAccuracy(await h.engine.tf(), await h.engine.loadModel(dir), calib, 512)).accuracy;
  };

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300] } } });
    const trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
    // Biases of a few units either way and one dead unit at -1000: uint8
    // storage of this bias (step = range / 255, about 4) moves every other
    // bias by up to 2, which a point that left the bias alone would not see.
    const m = await h.engine.loadModel(trained);
    const bias = m.getLayer('dense1').weights.find((w) => w.originalName.endsWith('/bias')) as LayerVariable;
    const values = bias.read().dataSync().slice() as Float32Array;
    for (let i = 0; i < values.length; i++) values[i] = 2 * Math.sin(i);
    values[0] = -1000;
    bias.write((await h.engine.tf()).tensor(values));
    model = join(h.dir, 'wide-bias');
    await h.engine.saveModel(m, model);
    const r = await h.run(sensitivityStage, { fraction: 0.1, samples: SAMPLES, sparsity: [], bits: [], dtype: ['uint8'], structured: [0.5, 0.9] }, modelInput(await h.artifact(model)));
    const d = decodeSensitivity(r.metrics as Json);
    if (!d.ok) throw new Error(d.error);
    s = d.value;
  }, 120_000);
  afterAll(() => h.cleanup());

  const point = (layer: string, family: string, level: number | string) => s.points.find((p) => p.layer === layer && p.family === family && p.level === level);

  test('the output layer gets no structured point; every other option is measured', () => {
    expect(s.points.map((p) => `${p.layer} ${p.family} ${p.level}`)).toEqual(['dense1 dtype uint8', 'dense1 structured 0.5', 'dense1 structured 0.9', 'dense2 dtype uint8']);
  });

  test('a dtype point is the quantize stage on that layer (bias above minSize included)', async () => {
    const out = (await h.run(quantizeStage, { layers: { dense1: { weights: 'uint8' } } }, modelInput(await h.artifact(model)))).outputs.model!;
    const p = point('dense1', 'dtype', 'uint8')!;
    expect(p.value).toBeCloseTo(await calibAccuracy(out), 4);
    // The bias's coarse grid moves accuracy (a kernel-only point would show ~0).
    expect(Math.abs(p.dropPp)).toBeGreaterThan(1);
  }, 60_000);

  test.each([0.5, 0.9])('a structured point (ratio %s) is the prune stage\'s unit removal on that layer', async (ratio) => {
    const out = (await h.run(pruneStage, { method: 'structured', criterion: 'l1', layers: { dense1: { sparsity: ratio } } }, modelInput(await h.artifact(model)))).outputs.model!;
    expect(point('dense1', 'structured', ratio)!.value).toBeCloseTo(await calibAccuracy(out), 4);
  }, 60_000);
});
