/**
 * The per-layer latency table on wasm (real child processes, NetAdapt
 * style): narrowing a wide layer makes the model measurably faster, the
 * table is read back from the memo without timing anything, only the
 * structured family has a latency cost, and a model with two layers
 * narrowed is faster than the unmodified one timed beside it, with the
 * additive prediction below it too. (How close the prediction is depends on
 * the load of a shared machine; the auto stage reports it per trial.)
 */
import { join } from 'node:path';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { narrowedModels } from '../../../src/stages/auto/narrowed-models.js';
import { latencyCost, measureLatencyTable, predictLatency, timeAgainstBase } from '../../../src/stages/auto/latency-table.js';
import type { LatencyTable } from '../../../src/stages/auto/latency-table.js';
import { removeUnits } from '../../../src/stages/sensitivity/structured-setting.js';

describe('latency table', () => {
  let h: Harness;
  let base: string;
  let table: LatencyTable;
  const memoDir = () => join(h.dir, 'latency-memo');
  const options = () => ({ runtime: 'wasm' as const, threads: 1, batch: 1, maxSeconds: 0.5, modelDigest: 'test-model', memoDir: memoDir() });

  beforeAll(async () => {
    h = await createHarness();
    // Two wide hidden layers: their matmuls dominate, so narrowing them shows.
    const model = await h.engine.buildModel({ arch: 'mlp', inputShape: [784], units: [1024, 1024] });
    base = join(h.dir, 'base');
    await h.engine.saveModel(model, base);
    const { models, refused } = await narrowedModels(h.ctx(), model, [
      { layer: 'dense1', ratio: 0.75 },
      { layer: 'dense2', ratio: 0.75 },
      { layer: 'dense3', ratio: 0.5 },
    ], join(h.dir, 'narrowed'));
    expect(refused).toEqual([expect.stringMatching(/^dense3 u0\.5: /)]);
    const t0 = performance.now();
    table = await measureLatencyTable(base, models, options());
    // One child: start-up plus 3 x 0.5 s of interleaved timing: seconds, not minutes.
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 60_000);
  afterAll(() => h.cleanup());

  test('narrowing a wide layer is measurably faster; only structured settings cost latency', () => {
    expect(table.measured).toBe(2);
    expect(table.entries.map((e) => `${e.layer} ${e.ratio}`)).toEqual(['dense1 0.75', 'dense2 0.75']);
    const d1 = latencyCost(table, 'dense1', { structured: 0.75 });
    // dense1 and dense2's kernels hold 43% and 56% of the MACs; removing 3/4 of
    // dense1's units cuts 75% of them (dense2's input narrows too).
    expect(d1.p50Ms).toBeLessThan(-0.2 * table.base.p50Ms);
    for (const s of [{}, { sparsity: 0.9 }, { bits: 2 }, { dtype: 'uint8' as const }, { sparsity: 0.5, bits: 4, dtype: 'float16' as const }]) {
      expect(latencyCost(table, 'dense1', s)).toEqual({ p50Ms: 0, p95Ms: 0 });
    }
  });

  test('a second table with the same key times nothing', async () => {
    const again = await measureLatencyTable(base, [], options());
    expect(again.measured).toBe(0);
    expect(again.base).toEqual(table.base);
  });

  test('both layers narrowed: faster than the unmodified model beside it, and predicted so', async () => {
    const settings = { dense1: { structured: 0.75 }, dense2: { structured: 0.75 } };
    const both = await removeUnits(h.ctx(), await h.engine.loadModel(base), { dense1: 0.75, dense2: 0.75 });
    const dir = join(h.dir, 'both');
    await h.engine.saveModel(both, dir);
    const { model: measured, unmodified } = await timeAgainstBase(dir, base, { runtime: 'wasm', threads: 1, batch: 1, maxSeconds: 0.5 });
    const predicted = predictLatency(table, settings);
    // 86% fewer MACs: well below the unmodified model timed in the same session.
    expect(measured.p50Ms).toBeLessThan(0.8 * unmodified.p50Ms);
    // The sum of the single-layer savings double-counts dense2's narrower input
    // (additive: 75% + 43% of the MACs; really 86%): the prediction errs on the
    // fast side for adjacent layers, clamped at 0.
    expect(predicted.p50Ms).toBeGreaterThanOrEqual(0);
    expect(predicted.p50Ms).toBeLessThan(0.8 * table.base.p50Ms);
  }, 30_000);
});
