/**
 * The search space built from a sensitivity table: within a family the
 * predicted loss never falls as the setting gets more aggressive (isotonic
 * regression over noisy single measurements), dtypes stay as measured, and
 * a combination's loss is the sum of its parts.
 */
import type { Sensitivity, SensitivityPoint } from '../../../src/contracts/sensitivity.js';
import { layerChoices, monotoneDrops } from '../../../src/stages/auto/search-space.js';
import { settingLabel } from '../../../src/stages/sensitivity/layer-setting.js';

const point = (family: SensitivityPoint['family'], level: number | string, dropPp: number): SensitivityPoint => ({ layer: 'fc', family, level, value: 98 - dropPp, dropPp });

const table: Sensitivity = {
  metric: 'accuracy',
  calibration: { data: 'train', fraction: 0.1, examples: 2000, seed: 1 },
  baseline: 98,
  layers: ['fc'],
  points: [
    // LeNet-300-100's dense2 after a 300-step recovery, as measured: 80% read below 50%.
    point('sparsity', 0.5, 0.7), point('sparsity', 0.7, 0.15), point('sparsity', 0.8, -0.25), point('sparsity', 0.9, -0.15), point('sparsity', 0.95, 0.6), point('sparsity', 0.98, 0.5),
    // Already monotone from 8 bits down to 2.
    point('bits', 8, 0), point('bits', 4, 0.1), point('bits', 2, 1.3),
    point('dtype', 'uint8', 0.2),
  ],
};

describe('search space', () => {
  test('drops made non-decreasing in aggressiveness by pooling adjacent violators', () => {
    const s = monotoneDrops(table, 'fc', 'sparsity');
    expect([...s.keys()]).toEqual([0.5, 0.7, 0.8, 0.9, 0.95, 0.98]);
    const v = [...s.values()];
    // 0.7, 0.15, -0.25, -0.15 pool to their mean; 0.6, 0.5 to theirs.
    expect(v.slice(0, 4).every((x) => Math.abs(x - 0.1125) < 1e-12)).toBe(true);
    expect(v.slice(4).every((x) => Math.abs(x - 0.55) < 1e-12)).toBe(true);
    for (let i = 1; i < v.length; i++) expect(v[i]!).toBeGreaterThanOrEqual(v[i - 1]!);
    // Fewer bits is more aggressive; a monotone family is left as measured.
    expect([...monotoneDrops(table, 'fc', 'bits')]).toEqual([[8, 0], [4, 0.1], [2, 1.3]]);
  });

  test('choices: combinations sum the smoothed drops, never below 0; dtypes as measured', () => {
    const choices = new Map(layerChoices(table, 'fc', ['sparsity', 'bits', 'dtype']).map((c) => [settingLabel(c.setting), c.loss]));
    expect(choices.get('dense')).toBe(0);
    expect(choices.get('s0.8')).toBeCloseTo(0.1125, 12);
    expect(choices.get('s0.95+b2')).toBeCloseTo(0.55 + 1.3, 12);
    expect(choices.get('uint8')).toBe(0.2);
    // Without the bits family, no combination with bits.
    expect(layerChoices(table, 'fc', ['sparsity']).every((c) => c.setting.bits === undefined)).toBe(true);
  });
});
