import { percentile, quantileInterval, stability, strideSamples, summarize } from '../../src/measure/sample-stats.js';

describe('nearest-rank percentiles', () => {
  // The classic example: 15, 20, 35, 40, 50 -> p30 = 20, p40 = 20, p50 = 35, p100 = 50.
  test.each([
    [30, 20],
    [40, 20],
    [50, 35],
    [95, 50],
    [100, 50],
    [1, 15],
  ])('p%d of [15, 20, 35, 40, 50] is %d', (p, value) => {
    expect(percentile([15, 20, 35, 40, 50], p)).toBe(value);
  });

  test('always a measured value (no interpolation) and rank ceil(p n / 100)', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 95.5)).toBe(96);
  });

  test('rejects empty input and out-of-range p', () => {
    expect(() => percentile([], 50)).toThrow('Expected at least one sample, got none');
    expect(() => percentile([1], 0)).toThrow('Expected a percentile in (0, 100], got 0');
    expect(() => percentile([1], 101)).toThrow('Expected a percentile in (0, 100], got 101');
  });
});

test('summarize sorts numerically and reports p95/p50 as spread', () => {
  // 20 samples: 18 of 1 ms, then 3 and 10 (numeric, not lexicographic: 10 > 3).
  const samples = [10, ...Array<number>(18).fill(1), 3];
  const s = summarize(samples);
  expect(s).toMatchObject({ count: 20, p50: 1, p95: 3, min: 1, max: 10, spread: 3 });
  expect(s.mean).toBeCloseTo(31 / 20, 12);
  const mean = 31 / 20;
  const variance = (18 * (1 - mean) ** 2 + (3 - mean) ** 2 + (10 - mean) ** 2) / 19;
  expect(s.stdev).toBeCloseTo(Math.sqrt(variance), 12);
  expect(samples[0]).toBe(10); // input untouched
  expect(summarize([4]).stdev).toBe(0);
});

describe('confidence intervals and the stopping rule', () => {
  const ramp = (n: number, spread: number) => Array.from({ length: n }, (_, i) => 1 + (spread * i) / n);

  test('the p95 interval needs enough samples for its ranks to exist', () => {
    expect(quantileInterval(ramp(30, 0.1), 0.95)).toBeNull();
    expect(quantileInterval(ramp(30, 0.1), 0.5)).not.toBeNull();
    expect(quantileInterval(ramp(200, 0.1), 0.95)).not.toBeNull();
  });

  test('the interval brackets the estimate', () => {
    const sorted = ramp(500, 1);
    const [lo, hi] = quantileInterval(sorted, 0.5)!;
    expect(lo).toBeLessThanOrEqual(percentile(sorted, 50));
    expect(hi).toBeGreaterThanOrEqual(percentile(sorted, 50));
  });

  test('stable only when both intervals are within the target', () => {
    // Values 1.00 .. 1.10: intervals are a few hundredths wide, far inside 5% of ~1.
    expect(stability(ramp(200, 0.1), 0.05).stable).toBe(true);
    // Values 1 .. 11: the p95 interval spans about 0.6 around ~10.5, wider than 1% of it.
    expect(stability(ramp(200, 10), 0.01).stable).toBe(false);
    // Too few samples for a p95 interval: never stable, whatever the target.
    expect(stability(ramp(30, 0), 1).stable).toBe(false);
  });
});

test('strideSamples keeps first and last and caps the count', () => {
  const runs = Array.from({ length: 11 }, (_, i) => i);
  expect(strideSamples(runs, 3)).toEqual([0, 5, 10]);
  expect(strideSamples(runs, 20)).toEqual(runs);
  expect(strideSamples(runs, 0)).toEqual([]);
  expect(strideSamples(runs, 1)).toEqual([0]);
});
