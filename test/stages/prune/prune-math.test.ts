/**
 * The prune stage's arithmetic without tfjs: the schedule (Zhu & Gupta's
 * AGP), mask selection (exact counts, tie-breaking, global pooling, Han's
 * threshold), quickselect, and the structured cuts (norms, ranking, slicing,
 * flattened rows).
 */
import { agpSparsity, isUpdateStep, scheduleUpdates, scheduledSparsity } from '../../../src/stages/prune/prune-schedule.js';
import { countBelow, kthSmallest, pruneCount, smallestMasks, stdThreshold } from '../../../src/stages/prune/prune-magnitude.js';
import { flattenedRows, normScores, rankChannels, takeAlong } from '../../../src/stages/prune/prune-structured.js';

describe('AGP: s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n·Δt))^3', () => {
  test.each([
    // s_i, s_f, t, t0, span, expected
    [0, 0.9, 0, 0, 100, 0],
    [0, 0.9, 100, 0, 100, 0.9],
    [0, 0.9, 50, 0, 100, 0.9 - 0.9 * 0.125],
    [0, 0.9, 25, 0, 100, 0.9 - 0.9 * 0.75 ** 3],
    [0.2, 0.8, 75, 0, 100, 0.8 - 0.6 * 0.25 ** 3],
    [0.5, 0.9, 30, 10, 40, 0.9 - 0.4 * 0.5 ** 3],
    // before t0: s_i; after the ramp: s_f
    [0.1, 0.9, 5, 10, 40, 0.1],
    [0.1, 0.9, 1000, 10, 40, 0.9],
  ])('s_i=%p s_f=%p t=%p t0=%p span=%p -> %p', (si, sf, t, t0, span, expected) => {
    expect(agpSparsity(si, sf, t, t0, span)).toBeCloseTo(expected, 12);
  });

  test('rises monotonically, fastest at the start', () => {
    const s = Array.from({ length: 11 }, (_, i) => agpSparsity(0, 0.9, i * 10, 0, 100));
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeGreaterThan(s[i - 1]!);
    expect(s[1]! - s[0]!).toBeGreaterThan(s[10]! - s[9]!);
  });

  test('constant holds the target from step 0; a start above the target is clamped', () => {
    expect(scheduledSparsity({ kind: 'constant', initialSparsity: 0 }, 0.8, 0, 100)).toBe(0.8);
    expect(scheduledSparsity({ kind: 'polynomial', initialSparsity: 0.95 }, 0.8, 0, 100)).toBe(0.8);
    expect(scheduledSparsity({ kind: 'polynomial', initialSparsity: 0.1 }, 0.8, 0, 100)).toBeCloseTo(0.1, 12);
  });

  test('mask updates every Δt steps and at the ramp end, never after it', () => {
    expect([0, 1, 8, 9, 16, 20, 21, 24].map((t) => isUpdateStep(t, 8, 20))).toEqual([true, false, true, false, true, true, false, false]);
    const u = scheduleUpdates({ kind: 'polynomial', epochs: 1, frequency: 8, initialSparsity: 0.2 }, 0.9, 20);
    expect(u.map((x) => x.step)).toEqual([0, 8, 16, 20]);
    expect(u[0]!.sparsity).toBeCloseTo(0.2, 12);
    expect(u[1]!.sparsity).toBeCloseTo(0.9 - 0.7 * 0.6 ** 3, 12);
    expect(u.at(-1)!.sparsity).toBe(0.9);
  });
});

describe('mask helpers', () => {
  test('exactly round(s·n) zeroed, smallest |w| first, ties by position, NaN never', () => {
    const w = Float32Array.from([0.5, -0.1, 0.3, -0.3, NaN, 0.1, 0.2, -0.05]);
    const [keep] = smallestMasks([w], pruneCount(0.5, w.length));
    // |w| sorted: 0.05(7) 0.1(1) 0.1(5) 0.2(6) | 0.3(2) 0.3(3) 0.5(0) NaN(4)
    expect(Array.from(keep!)).toEqual([1, 0, 1, 1, 1, 0, 0, 0]);
    const [tie] = smallestMasks([w], 5); // one of the two 0.3s: the earlier index
    expect(Array.from(tie!)).toEqual([1, 0, 0, 1, 1, 0, 0, 0]);
    expect(Array.from(smallestMasks([w], 8)[0]!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('global pools tensors: one threshold across them', () => {
    const a = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const b = Float32Array.from([0.01, 0.02, 5, 6]);
    const [ka, kb] = smallestMasks([a, b], 3);
    expect(Array.from(ka!)).toEqual([0, 1, 1, 1]);
    expect(Array.from(kb!)).toEqual([0, 0, 1, 1]);
  });

  test('round(s·n) and Han\'s quality · std threshold', () => {
    expect(pruneCount(0.9, 235200)).toBe(211680);
    expect(pruneCount(0.333, 10)).toBe(3);
    const w = Float32Array.from([-2, -1, 0, 1, 2]);
    expect(stdThreshold(w, 1)).toBeCloseTo(Math.sqrt(2), 6);
    expect(countBelow(w, stdThreshold(w, 1))).toBe(3);
  });

  test('structured helpers: norms per output channel, ranking, cutting, flattened rows', () => {
    // kernel [2 inputs, 3 units], row-major
    const k = Float32Array.from([1, -3, 0.5, -1, 1, 0.5]);
    expect(Array.from(normScores(k, 3, 'l1'))).toEqual([2, 4, 1]);
    expect(Array.from(normScores(k, 3, 'l2')).map((x) => +x.toFixed(6))).toEqual([+Math.SQRT2.toFixed(6), +Math.sqrt(10).toFixed(6), +Math.sqrt(0.5).toFixed(6)]);
    expect(rankChannels([2, 4, 1, 2], 2)).toEqual({ keep: [1, 3], removed: [0, 2] });
    const cut = takeAlong(k, [2, 3], 1, [0, 2]);
    expect(cut.shape).toEqual([2, 2]);
    expect(Array.from(cut.values)).toEqual([1, 0.5, -1, 0.5]);
    expect(Array.from(takeAlong(k, [2, 3], 0, [1]).values)).toEqual([-1, 1, 0.5]);
    expect(flattenedRows([0, 2], 3, 2)).toEqual([0, 2, 3, 5]);
  });
});

describe('kthSmallest', () => {
  test('agrees with a sort, duplicates and infinities included', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const n of [1, 2, 3, 10, 101, 5000]) {
      const a = Float32Array.from({ length: n }, () => (rand() < 0.1 ? Infinity : Math.round(rand() * 50) / 10));
      const sorted = a.slice().sort();
      for (const k of [0, n >> 1, n - 1, Math.floor(rand() * n)]) expect(kthSmallest(a.slice(), k)).toBe(sorted[k]);
    }
  });
});
