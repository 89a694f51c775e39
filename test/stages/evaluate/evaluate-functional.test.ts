/**
 * The evaluate stage on the functional MobileNet-shaped fixture and its
 * BN-folded copy: params and MACs of depthwise, separable, merge, padding and
 * BN layers against a hand count, and both candidates judged side by side.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from '../../../src/plugin.js';
import { evaluateStage } from '../../../src/stages/evaluate/evaluate.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, runWithDevices, upstream } from './evaluate-helpers.js';
import { saveFunctionalModel, writeTinyImages } from '../../helpers/functional-model.js';

const NO_LATENCY = { measure: 'never' } as const;

describe('evaluate on a functional graph', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ data: { tiny: { uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' } } });
    await writeTinyImages(h.dir);
  });
  afterAll(() => h.cleanup());

  test('params and MACs per layer match a hand count; the folded copy has 300 fewer params, the same MACs and accuracy', async () => {
    const { saved } = await saveFunctionalModel(h.engine, join(h.dir, 'models'));
    const ref = await h.artifact(saved);
    const folded = await h.artifact((await h.run(quantizeStage, { weights: 'none', foldBatchNorm: true }, modelInput(ref))).outputs.model!);
    const devices: Record<string, Json> = { phone: { runtime: 'wasm', budget: { accuracy_drop_pp: 0.01 } } };
    const r = await runWithDevices(h, evaluateStage, { data: 'tiny', latency: NO_LATENCY }, inputsOf(upstream('model', 'model', ref), upstream('fold', 'quantize', folded)), devices);
    const c = (r.metrics!.candidates as any);

    // By hand, per example (8x8 until the stride-2 depthwise, 4x4 after):
    const macs: Record<string, number> = {
      Conv1: 64 * 9 * 3 * 8,
      block_1_expand: 64 * 8 * 16,
      block_1_depthwise: 64 * 9 * 16,
      block_1_project: 64 * 16 * 8,
      down_depthwise: 16 * 9 * 8, // ZeroPadding to 9x9, valid 3x3 stride 2 -> 4x4
      branch_a: 16 * 8 * 6,
      branch_b: 16 * 8 * 4,
      sep: 16 * 9 * 10 + 16 * 10 * 12, // depthwise + pointwise
      predictions: 12 * 10,
      block_1_add: 0,
      concat: 0,
      down_pad: 0,
      bn_Conv1: 0,
      pool: 0,
    };
    const total = 64 * 9 * 3 * 8 + 2 * (64 * 8 * 16 + 64 * 9 * 16 + 64 * 16 * 8) + 16 * 9 * 8 + 16 * 8 * 6 + 16 * 8 * 4 + 16 * 9 * 10 + 16 * 10 * 12 + 12 * 10;
    const params = 216 + 32 + 2 * (128 + 64 + 144 + 64 + 128 + 32) + 72 + 32 + (48 + 6) + 32 + 16 + (90 + 120 + 12) + (120 + 10);
    expect(c.model.macs).toBe(total);
    expect(c.model.macsComplete).toBe(true);
    expect(c.model.params).toBe(params);
    const report = JSON.parse(await readFile(join(r.outputs.report!, 'report.json'), 'utf8'));
    const layers = new Map<string, { macs: number; params: number }>(report.candidates.find((x: any) => x.node === 'model').layers.map((l: any) => [l.name, l]));
    for (const [name, n] of Object.entries(macs)) expect([name, layers.get(name)!.macs]).toEqual([name, n]);
    expect(layers.get('sep')!.params).toBe(90 + 120 + 12);
    expect(layers.get('block_1_depthwise')!.params).toBe(144);
    expect(layers.get('block_1_add')!.params).toBe(0);
    // Folding: BN parameters gone (4 per channel), a bias per folded channel added, the MACs unchanged.
    expect(c.fold.params).toBe(params - 3 * 100);
    expect(c.fold.macs).toBe(total);
    expect(c.fold.accuracyDropPp).toBeCloseTo(0, 6);
    expect(c.fold.devices.phone.ok).toBe(true);
  });
});
