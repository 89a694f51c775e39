/**
 * Bits re-allocated on a (retrained) model with the exact size model: the
 * choice is the brute-force optimum under the limit, keeps each layer's
 * sparsity, leaves layers without bits alone, raises bits when the limit
 * allows, and says when even the fewest bits do not fit.
 */
import { join } from 'node:path';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import { chooseBitsAfterPruning } from '../../../src/stages/auto/bits-after-pruning.js';
import { searchedKernels, sizeModel } from '../../../src/stages/auto/cost-model.js';
import type { SizeModel } from '../../../src/stages/auto/cost-model.js';
import type { LayerChoice } from '../../../src/stages/auto/search-space.js';
import type { LayerSetting } from '../../../src/stages/sensitivity/layer-setting.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

const BITS = [2, 3, 4, 5, 6];
const LAYERS = ['dense1', 'dense2', 'dense3'];

/** Choices as search-space.ts builds them: sparsity x bits combinations, the loss falling with more bits. */
function choicesFor(layer: number): LayerChoice[] {
  const out: LayerChoice[] = [{ setting: {}, loss: 0 }];
  for (const sparsity of [undefined, 0.5, 0.9]) {
    for (const bits of [undefined, ...BITS]) {
      if (sparsity === undefined && bits === undefined) continue;
      const loss = (sparsity ?? 0) * (layer + 1) + (bits === undefined ? 0 : (7 - bits) * 0.3 * (3 - layer));
      out.push({ setting: { ...(sparsity !== undefined ? { sparsity } : {}), ...(bits !== undefined ? { bits } : {}) }, loss });
    }
  }
  out.push({ setting: { dtype: 'uint8' }, loss: 0.01 });
  return out;
}

describe('bits after pruning', () => {
  let h: Harness;
  let size: SizeModel;
  const choices = new Map(LAYERS.map((l, k) => [l, choicesFor(k)]));
  const allocated: Record<string, LayerSetting> = { dense1: { sparsity: 0.9, bits: 2 }, dense2: { sparsity: 0.5, bits: 3 }, dense3: { dtype: 'uint8' } };

  beforeAll(async () => {
    h = await createHarness();
    const dir = join(h.dir, 'mlp');
    await h.engine.saveModel(await h.engine.buildModel({ arch: 'mlp', inputShape: [64], units: [200, 40] }), dir);
    const artifacts = await readModelArtifacts(dir);
    size = sizeModel(artifacts, searchedKernels(artifacts, LAYERS));
  }, 60_000);
  afterAll(() => h.cleanup());

  /** Every bits combination of the shared layers, by brute force. */
  function bruteForce(limit: number): { loss: number; packed: number } | undefined {
    let best: { loss: number; packed: number } | undefined;
    for (const b1 of BITS) {
      for (const b2 of BITS) {
        const s = { ...allocated, dense1: { sparsity: 0.9, bits: b1 }, dense2: { sparsity: 0.5, bits: b2 } };
        const packed = size.predict(s).packed;
        const loss = choices.get('dense1')!.find((c) => c.setting.sparsity === 0.9 && c.setting.bits === b1)!.loss + choices.get('dense2')!.find((c) => c.setting.sparsity === 0.5 && c.setting.bits === b2)!.loss;
        if (packed <= limit && (!best || loss < best.loss - 1e-9 || (Math.abs(loss - best.loss) < 1e-9 && packed > best.packed))) best = { loss, packed };
      }
    }
    return best;
  }

  test('a generous limit raises every shared layer to its gentlest bits; sparsity and the dtype layer kept', () => {
    const r = chooseBitsAfterPruning(size, allocated, choices, 10 ** 9);
    expect(r.settings).toEqual({ dense1: { sparsity: 0.9, bits: 6 }, dense2: { sparsity: 0.5, bits: 6 }, dense3: { dtype: 'uint8' } });
    expect([r.fits, r.changed]).toEqual([true, true]);
    expect(r.allocatedPacked).toBe(size.predict(allocated).packed);
    expect(r.packed).toBe(size.predict(r.settings).packed);
  });

  test.each([0.25, 0.5, 0.75])('a limit %f of the way from the smallest to the largest: the brute-force optimum, within the limit', (f) => {
    const smallest = size.predict({ ...allocated, dense1: { sparsity: 0.9, bits: 2 }, dense2: { sparsity: 0.5, bits: 2 } }).packed;
    const largest = size.predict({ ...allocated, dense1: { sparsity: 0.9, bits: 6 }, dense2: { sparsity: 0.5, bits: 6 } }).packed;
    const limit = Math.round(smallest + f * (largest - smallest));
    const r = chooseBitsAfterPruning(size, allocated, choices, limit);
    const best = bruteForce(limit)!;
    expect(r.fits).toBe(true);
    expect(r.packed).toBeLessThanOrEqual(limit);
    const loss = (['dense1', 'dense2'] as const).reduce((n, l) => n + choices.get(l)!.find((c) => c.setting.sparsity === r.settings[l]!.sparsity && c.setting.bits === r.settings[l]!.bits)!.loss, 0);
    expect(loss).toBeCloseTo(best.loss, 9);
  });

  test('below the fewest bits: not fitting, said so, with the smallest settings', () => {
    const r = chooseBitsAfterPruning(size, { ...allocated, dense1: { sparsity: 0.9, bits: 4 } }, choices, 100);
    expect(r.fits).toBe(false);
    expect([r.settings.dense1!.bits, r.settings.dense2!.bits]).toEqual([2, 2]);
    expect(r.packed).toBeGreaterThan(100);
  });

  test('nothing shared: the allocation unchanged', () => {
    const none = { dense1: { sparsity: 0.9 }, dense3: { dtype: 'uint8' as const } };
    const r = chooseBitsAfterPruning(size, none, choices, 10 ** 9);
    expect(r.settings).toEqual(none);
    expect(r.changed).toBe(false);
  });
});
