/**
 * The sensitivity stage on a small MLP trained on 2,000 MNIST images: one
 * point per (layer, option), each equal to what the real prune / share /
 * quantize stages give when told to change that one layer, measured on the
 * seeded calibration split held out from `train`; the contract round-trips;
 * targeting and bad data are refused with located messages.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageConfigError } from '../../../src/plugin.js';
import type { Json } from '../../../src/plugin.js';
import { decodeSensitivity, encodeSensitivity, renderSensitivityMarkdown } from '../../../src/contracts/sensitivity.js';
import type { Sensitivity } from '../../../src/contracts/sensitivity.js';
import { splitDataset } from '../../../src/data/dataset.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { shareStage } from '../../../src/stages/share/share.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { sensitivityStage } from '../../../src/stages/sensitivity/sensitivity.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { evaluateAccuracy } from '../../../src/stages/training/train-loop.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

describe('sensitivity stage', () => {
  let h: Harness;
  let trained: string;
  let s: Sensitivity;
  let outDir: string;
  const run = async (config: Record<string, Json>) => h.run(sensitivityStage, config, modelInput(await h.artifact(trained)));

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [32] } } });
    trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
    const r = await run({ fraction: 0.1, samples: 150, sparsity: [0.5, 0.99], bits: [1], dtype: ['uint8'] });
    outDir = r.outputs.sensitivity!;
    const d = decodeSensitivity(JSON.parse(await readFile(join(outDir, 'sensitivity.json'), 'utf8')));
    if (!d.ok) throw new Error(d.error);
    s = d.value;
    expect(r.metrics).toEqual(JSON.parse(await readFile(join(outDir, 'sensitivity.json'), 'utf8')));
  }, 120_000);
  afterAll(() => h.cleanup());

  test('one point per layer and option, on the held-out calibration split', async () => {
    expect(s.metric).toBe('accuracy');
    expect(s.layers).toEqual(['dense1', 'dense2']);
    expect(s.calibration).toEqual({ data: 'train', fraction: 0.1, examples: 150, seed: h.ctx().seed });
    expect(s.points.map((p) => `${p.layer} ${p.family} ${p.level}`)).toEqual([
      'dense1 sparsity 0.5', 'dense1 sparsity 0.99', 'dense1 bits 1', 'dense1 dtype uint8',
      'dense2 sparsity 0.5', 'dense2 sparsity 0.99', 'dense2 bits 1', 'dense2 dtype uint8',
    ]);
    for (const p of s.points) expect(p.dropPp).toBeCloseTo(s.baseline - p.value, 5);
    // A trained model minds 99% sparsity in its first layer more than 50%.
    const drop = (layer: string, family: string, level: number | string) => s.points.find((p) => p.layer === layer && p.family === family && p.level === level)!.dropPp;
    expect(drop('dense1', 'sparsity', 0.99)).toBeGreaterThan(drop('dense1', 'sparsity', 0.5) + 5);
    expect(Math.abs(drop('dense1', 'dtype', 'uint8'))).toBeLessThan(2);
    const md = await readFile(join(outDir, 'sensitivity.md'), 'utf8');
    expect(md).toContain('| layer | 50% | 99% | 1 bits | uint8 |');
  });

  test.each<[string, Record<string, Json>, string, string | number, typeof pruneStage | typeof shareStage | typeof quantizeStage]>([
    ['prune', { layers: { dense1: { sparsity: 0.99 } } }, 'sparsity', 0.99, pruneStage],
    ['share', { layers: { dense2: { bits: 1 } } }, 'bits', 1, shareStage],
    ['quantize', { layers: { dense1: { weights: 'uint8' } } }, 'dtype', 'uint8', quantizeStage],
  ])('each point is what the real %s stage gives for that layer alone', async (_name, config, family, level, stage) => {
    const layer = Object.keys(config.layers as object)[0]!;
    const out = (await h.run(stage, config, modelInput(await h.artifact(trained)))).outputs.model!;
    const tf = await h.engine.tf();
    const ctx = h.ctx();
    const calib = splitDataset(splitDataset(await ctx.data("train"), 0.1, ctx.seed)[1], 150 / 200, ctx.seed)[1];
    const { accuracy } = await evaluateAccuracy(tf, await h.engine.loadModel(out), calib, 512);
    const point = s.points.find((p) => p.layer === layer && p.family === family && p.level === level)!;
    expect(point.value).toBeCloseTo(accuracy, 4);
  }, 60_000);

  test('agreement with the unmodified model, and targeting', async () => {
    const r = await run({ fraction: 0.1, samples: 100, sparsity: [0.99], bits: [], dtype: [], metric: 'agreement', exclude: ['dense2'] });
    const d = decodeSensitivity(r.metrics as Json);
    if (!d.ok) throw new Error(d.error);
    expect(d.value.metric).toBe('agreement');
    expect(d.value.baseline).toBe(100);
    expect(d.value.layers).toEqual(['dense1']);
    expect(d.value.points).toHaveLength(1);
    expect(d.value.points[0]!.value).toBeLessThan(100);
  }, 60_000);

  test('a pattern that matches no layer is a located config error', async () => {
    const err = await run({ sparsity: [0.5], bits: [], dtype: [], layers: { 'conv*': {} } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe('pattern `conv*` matches no layer of the model');
    expect((err as StageConfigError).path).toEqual(['layers', 'conv*']);
  });

  test('the contract codec names the bad field', () => {
    expect(decodeSensitivity({ stage: 'sensitivity', metric: 'accuracy', calibration: { data: 'train', fraction: 0.1, examples: 5, seed: 1 }, baseline: 90, layers: ['a'], points: [{ layer: 'b', family: 'bits', level: 2, value: 1, dropPp: 89 }] })).toEqual({
      ok: false,
      error: 'sensitivity.json.points[0].layer: Expected one of the measured layers (a), got "b"',
    });
    expect(decodeSensitivity({ stage: 'sensitivity', metric: 'loss' })).toEqual({ ok: false, error: 'sensitivity.json.metric: Expected accuracy or agreement, got "loss"' });
  });

  test('a wider sweep measures only the new points (per-(layer, option) memo)', async () => {
    const dir = join(h.dir, 'memo-test');
    const config = { fraction: 0.1, samples: 100, bits: [], dtype: [], memo: { dir } };
    const first = decodeSensitivity((await run({ ...config, sparsity: [0.5] })).metrics as Json);
    if (!first.ok) throw new Error(first.error);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(2); // dense1 and dense2 at 0.5
    // Mark the stored points: a reused point reads the mark, a re-measured one would not.
    for (const f of files) await writeFile(join(dir, f), JSON.stringify({ value: 12.345 }));
    const wider = decodeSensitivity((await run({ ...config, sparsity: [0.5, 0.9] })).metrics as Json);
    if (!wider.ok) throw new Error(wider.error);
    expect(wider.value.points.map((p) => [p.layer, p.level, p.value === 12.345])).toEqual([
      ['dense1', 0.5, true],
      ['dense1', 0.9, false],
      ['dense2', 0.5, true],
      ['dense2', 0.9, false],
    ]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.json'))).toHaveLength(4);
  }, 60_000);
});

describe('sensitivity stage with recovery (a short fine-tune holding each option)', () => {
  let h: Harness;
  let trained: string;
  const run = async (config: Record<string, Json>) => {
    const d = decodeSensitivity((await h.run(sensitivityStage, config, modelInput(await h.artifact(trained)))).metrics as Json);
    if (!d.ok) throw new Error(d.error);
    return d.value;
  };
  const point = (s: Sensitivity, layer: string, family: string, level: number | string) => s.points.find((p) => p.layer === layer && p.family === family && p.level === level)!;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [32] } } });
    trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
  }, 120_000);
  afterAll(() => h.cleanup());

  test('fine-tuning undoes part of a drop, against a control fine-tune; a dtype is applied after it; every point starts from the unmodified model', async () => {
    const base = { fraction: 0.1, samples: 150, dtype: ['uint8'], bits: [1] };
    const plain = await run({ ...base, sparsity: [0.5, 0.99], memo: { dir: join(h.dir, 'plain') } });
    const recover = { steps: 50, batchSize: 32 };
    const recovered = await run({ ...base, sparsity: [0.5, 0.99], recover, memo: { dir: join(h.dir, 'recovered') } });
    expect(recovered.recovery).toEqual({ steps: 50, batchSize: 32, learningRate: 0.001, data: 'train' });
    expect(plain.recovery).toBeUndefined();
    // Measured against the unmodified model after the same 50 steps (the control), fine-tuning with the
    // option held wins back part of a drop: most of 1-bit sharing of the last layer (its two centroids
    // train; 17.3 -> 2.7 pp when written), some of 99% sparsity of the first (17.3 -> 12.7 pp).
    expect(point(recovered, 'dense2', 'bits', 1).dropPp).toBeLessThan(point(plain, 'dense2', 'bits', 1).dropPp - 5);
    expect(point(recovered, 'dense1', 'sparsity', 0.99).dropPp).toBeLessThan(point(plain, 'dense1', 'sparsity', 0.99).dropPp);
    expect(recovered.baseline).toBeGreaterThanOrEqual(plain.baseline);
    // uint8 storage after the fine-tune costs (almost) nothing against the control, as it does without one.
    for (const layer of ['dense1', 'dense2']) expect(Math.abs(point(recovered, layer, 'dtype', 'uint8').dropPp)).toBeLessThanOrEqual(1);
    // The same point measured first in a sweep of its own: the sweep above restored every weight after each point.
    const alone = await run({ ...base, bits: [], dtype: [], sparsity: [0.99], exclude: ['dense1'], recover, memo: { dir: join(h.dir, 'alone') } });
    expect(point(alone, 'dense2', 'sparsity', 0.99).value).toBe(point(recovered, 'dense2', 'sparsity', 0.99).value);
    const md = renderSensitivityMarkdown(recovered);
    expect(md).toContain('each change held through 50 fine-tuning steps (Adam 0.001, batch 32, `train`)');
    expect(decodeSensitivity(encodeSensitivity(recovered) as Json)).toEqual({ ok: true, value: recovered });
  }, 120_000);
});
