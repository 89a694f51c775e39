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
import { atAnchorSpeed, latencyCost, latencyEnds, machineSpeed, measureLatencyTable, predictLatency, SAVING_SCALE_LIMIT, savingScale, timeAgainstBase } from '../../../src/stages/auto/latency-table.js';
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

/**
 * The prediction on constructed tables (no timing): p50 changes scaled to
 * the floor and to the anchor, p95 as that p50 plus the anchor's tail; the
 * table's p95 changes are not used (see latency-table.ts).
 */
describe('latency prediction', () => {
  const entries = [
    { layer: 'a', ratio: 0.5, dP50Ms: -1, dP95Ms: 3 },
    { layer: 'a', ratio: 0.75, dP50Ms: -1.5, dP95Ms: -4 },
    { layer: 'b', ratio: 0.75, dP50Ms: -0.5, dP95Ms: 2 },
  ];
  // A noisy table: base p95 far above its p50; all largest ratios together measured 4 ms faster, not 2.
  const table: LatencyTable = {
    runtime: 'wasm', threads: 1, batch: 1, maxSeconds: 1, measured: 3, seconds: 1,
    base: { p50Ms: 10, p95Ms: 16 },
    floor: { p50Ms: 6, p95Ms: 20 },
    entries,
    savingScale: savingScale(entries, -4),
  };

  test('the saving scale makes the largest ratios sum to the floor, and stays 1 where the changes are not savings or are noise', () => {
    // Only each layer's largest ratio counts: -1.5 + -0.5 = -2.
    expect(table.savingScale).toBe(2);
    expect(savingScale(entries, -1)).toBe(0.5);
    expect(savingScale(entries, 0.3)).toBe(1);
    expect(savingScale([{ layer: 'a', ratio: 0.5, dP50Ms: 0.2, dP95Ms: 0 }], -4)).toBe(1);
    // -2 x 4 is still believed; beyond that the sum is mostly noise.
    expect(savingScale(entries, -2 * SAVING_SCALE_LIMIT)).toBe(SAVING_SCALE_LIMIT);
    expect(savingScale(entries, -2 * SAVING_SCALE_LIMIT - 0.1)).toBe(1);
    expect(savingScale(entries, -2 / SAVING_SCALE_LIMIT - 0.01)).toBeCloseTo(0.255, 9);
    expect(savingScale(entries, -2 / SAVING_SCALE_LIMIT + 0.01)).toBe(1);
  });

  test('without an anchor: the base, scaled p50 changes, p95 = p50 + the base tail, never below the floor', () => {
    expect(latencyCost(table, 'a', { structured: 0.5 })).toEqual({ p50Ms: -2, p95Ms: -2 });
    expect(predictLatency(table, {})).toEqual({ p50Ms: 10, p95Ms: 16 });
    expect(predictLatency(table, { a: { structured: 0.5 } })).toEqual({ p50Ms: 8, p95Ms: 14 });
    // Every largest ratio: exactly the floor's p50, with the base's tail (not the floor's noisy p95).
    expect(predictLatency(table, { a: { structured: 0.75 }, b: { structured: 0.75 } })).toEqual({ p50Ms: 6, p95Ms: 12 });
    expect(latencyEnds(table)).toEqual({ base: { p50Ms: 10, p95Ms: 16 }, floor: { p50Ms: 6, p95Ms: 12 } });
    // Sparsity and bits move nothing.
    expect(predictLatency(table, { a: { sparsity: 0.9, bits: 2 } })).toEqual({ p50Ms: 10, p95Ms: 16 });
  });

  test('with an anchor: predictions start there, the changes and the floor in proportion to it, its tail on top', () => {
    const anchored: LatencyTable = { ...table, anchor: { p50Ms: 8, p95Ms: 9 } };
    // 8 / 10 of the table's terms: a = 0.5 saves 2 x 0.8.
    expect(latencyCost(anchored, 'a', { structured: 0.5 }).p50Ms).toBeCloseTo(-1.6, 12);
    const p = predictLatency(anchored, { a: { structured: 0.5 } });
    expect(p.p50Ms).toBeCloseTo(6.4, 12);
    expect(p.p95Ms).toBeCloseTo(7.4, 12);
    const ends = latencyEnds(anchored);
    expect(ends.base).toEqual({ p50Ms: 8, p95Ms: 9 });
    expect(ends.floor!.p50Ms).toBeCloseTo(4.8, 12);
    expect(ends.floor!.p95Ms).toBeCloseTo(5.8, 12);
    const all = predictLatency(anchored, { a: { structured: 0.75 }, b: { structured: 0.75 } });
    expect(all.p50Ms).toBeCloseTo(4.8, 12);
    expect(all.p95Ms).toBeCloseTo(5.8, 12);
  });

  test('a trial timed while the machine ran 25% slow is judged at the anchor speed', () => {
    // The unmodified model read p50 10 beside the trial where the anchor read 8.
    const judged = atAnchorSpeed({ p50Ms: 6, p95Ms: 7.5 }, { p50Ms: 10, p95Ms: 12 }, { p50Ms: 8, p95Ms: 9 });
    expect(judged.p50Ms).toBeCloseTo(4.8, 12);
    expect(judged.p95Ms).toBeCloseTo(6, 12);
    expect(atAnchorSpeed({ p50Ms: 6, p95Ms: 7.5 }, { p50Ms: 8, p95Ms: 12 }, { p50Ms: 8, p95Ms: 9 })).toEqual({ p50Ms: 6, p95Ms: 7.5 });
  });

  test('the machine speed is the median p50 and the median tail of the unmodified timings: one slow moment moves neither', () => {
    // A user's run: the first timing caught the machine slow (p50 11.05, the tail 2.5 ms), the others did not.
    const timings = [{ p50Ms: 11.05, p95Ms: 13.55 }, { p50Ms: 8.54, p95Ms: 9.74 }, { p50Ms: 8.61, p95Ms: 10.01 }];
    const speed = machineSpeed(timings);
    expect(speed.p50Ms).toBe(8.61);
    expect(speed.p95Ms).toBeCloseTo(8.61 + 1.4, 12);
    // The trial that met p95 <= 11 ms as timed (10.73 ms beside an unmodified 8.54 ms) meets it at this speed too.
    expect(atAnchorSpeed({ p50Ms: 8.9, p95Ms: 10.73 }, timings[1]!, speed).p95Ms).toBeLessThan(11);
    // Even counts: the mean of the middle two (of p50s and of tails alike).
    expect(machineSpeed([{ p50Ms: 4, p95Ms: 5 }, { p50Ms: 2, p95Ms: 5 }])).toEqual({ p50Ms: 3, p95Ms: 5 });
    expect(machineSpeed([{ p50Ms: 4, p95Ms: 5 }])).toEqual({ p50Ms: 4, p95Ms: 5 });
    // A p95 below the p50 (too few runs) is no negative tail.
    expect(machineSpeed([{ p50Ms: 4, p95Ms: 3 }])).toEqual({ p50Ms: 4, p95Ms: 4 });
    expect(() => machineSpeed([])).toThrow(RangeError);
  });
});
