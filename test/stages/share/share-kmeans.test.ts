/**
 * The share stage's 1-D k-means on typed arrays: exact centroids on tiny
 * hand-made arrays, agreement with a brute-force Lloyd on larger ones, every
 * init method (deterministic by seed), zeros, and the fine-tuning helpers.
 */
import { seededRandom } from '../../../src/data/dataset.js';
import {
  SHARE_INITS,
  bitsPerIndex,
  clusterGradients,
  clusterWeights,
  distinctNonZero,
  initCentroids,
  kmeans1d,
  snapToClusterMeans,
} from '../../../src/stages/share/share-kmeans.js';
import type { KMeansOptions, ShareInit } from '../../../src/stages/share/share-kmeans.js';

const opts = (o: Partial<KMeansOptions> = {}): KMeansOptions => ({ clusters: 3, init: 'linear', iterations: 30, tolerance: 0, random: seededRandom(1), ...o });
const f32 = (a: number[]) => Float32Array.from(a);
const isPlusZero = (x: number) => x === 0 && 1 / x === Infinity;

/** Textbook Lloyd, O(n k): nearest centroid, ties to the upper one, empty clusters keep theirs. */
function bruteLloyd(values: Float32Array, start: Float64Array, iterations: number): Float64Array {
  const c = Float64Array.from(start);
  for (let it = 0; it < iterations; it++) {
    const sum = new Float64Array(c.length);
    const cnt = new Float64Array(c.length);
    for (const v of values) {
      let best = 0;
      for (let j = 1; j < c.length; j++) if (v >= (c[j - 1]! + c[j]!) / 2) best = j;
      sum[best] = sum[best]! + v;
      cnt[best] = cnt[best]! + 1;
    }
    for (let j = 0; j < c.length; j++) if (cnt[j]! > 0) c[j] = sum[j]! / cnt[j]!;
  }
  return c;
}

describe('kmeans1d', () => {
  test('exact centroids on a tiny array (init differs from the result)', () => {
    const sorted = f32([0.125, 0.25, 0.375, 0.5, 5, 9, 9.5, 10]);
    // linear init: 0.125, 5.0625, 10 -> {0.125..0.5}, {5}, {9, 9.5, 10}
    expect(Array.from(initCentroids(sorted, opts()))).toEqual([0.125, 5.0625, 10]);
    const r = kmeans1d(sorted, opts());
    expect(Array.from(r.centroids)).toEqual([0.3125, 5, 9.5]);
    expect(r.converged).toBe(true);
    expect(r.iterations).toBe(1); // one update; the next assignment is unchanged, so it stops
    // Two clusters: the midpoint split {0.125..5} | {9..10}.
    expect(Array.from(kmeans1d(sorted, opts({ clusters: 2 })).centroids)).toEqual([1.25, 9.5]);
  });

  test('iterations: 0 keeps the initial centroids; a loose tolerance stops after one update', () => {
    const sorted = f32([1, 2, 3, 4, 100]);
    expect(Array.from(kmeans1d(sorted, opts({ clusters: 2, iterations: 0 })).centroids)).toEqual([1, 100]);
    const loose = kmeans1d(sorted, opts({ clusters: 3, tolerance: 1 }));
    expect(loose.iterations).toBe(1);
    expect(loose.converged).toBe(true);
  });

  test('fewer distinct values than clusters, a single value, no values', () => {
    for (const init of SHARE_INITS) {
      const r = kmeans1d(f32([-1, -1, 2, 2, 2]), opts({ clusters: 8, init }));
      const used = new Set(Array.from(clusterWeights(f32([-1, -1, 2, 2, 2]), opts({ clusters: 8, init })).codebook));
      expect(used).toEqual(new Set([-1, 2]));
      expect(r.centroids.length).toBeLessThanOrEqual(8);
    }
    expect(Array.from(kmeans1d(f32([3, 3, 3]), opts({ clusters: 4 })).centroids)).toEqual([3]);
    expect(kmeans1d(f32([]), opts()).centroids.length).toBe(0);
  });

  test.each(SHARE_INITS.map((i) => [i]))('%s: agrees with brute-force Lloyd and is deterministic by seed', (init) => {
    const random = seededRandom(42);
    const values = Float32Array.from({ length: 5000 }, () => (random() - 0.5) * (random() < 0.1 ? 4 : 1)).sort();
    const o = (seed: number) => opts({ clusters: 16, init: init as ShareInit, iterations: 25, random: seededRandom(seed) });
    const start = initCentroids(values, o(7));
    expect(start.length).toBe(16);
    for (let j = 1; j < start.length; j++) expect(start[j]!).toBeGreaterThan(start[j - 1]!);
    if (init === 'kmeans++' || init === 'random') for (const c of start) expect(values).toContain(c);
    const r = kmeans1d(values, o(7));
    const brute = bruteLloyd(values, start, r.iterations);
    for (let j = 0; j < 16; j++) expect(r.centroids[j]).toBeCloseTo(brute[j]!, 9);
    expect(Array.from(kmeans1d(values, o(7)).centroids)).toEqual(Array.from(r.centroids));
    if (init === 'kmeans++' || init === 'random') expect(Array.from(initCentroids(values, o(8)))).not.toEqual(Array.from(start));
  });

  test('linear and density initial centroids', () => {
    const sorted = f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 100]);
    expect(Array.from(initCentroids(sorted, { clusters: 5, init: 'linear', random: Math.random }))).toEqual([0, 25, 50, 75, 100]);
    // (j + 0.5) / 5 quantiles of 10 values: positions 1, 3, 5, 7, 9.
    expect(Array.from(initCentroids(sorted, { clusters: 5, init: 'density', random: Math.random }))).toEqual([1, 3, 5, 7, 100]);
  });
});

describe('clusterWeights', () => {
  test('snaps non-zeros to centroids, keeps zeros as +0 (also -0 in), index -1 for zeros', () => {
    const w = f32([0.5, 0, 10, -0, 0.25, 9, 0.125, 9.5, 0, 0.375, 5]);
    const r = clusterWeights(w, opts());
    expect(Array.from(r.codebook)).toEqual([0.3125, 5, 9.5]);
    expect(Array.from(r.values)).toEqual([0.3125, 0, 9.5, 0, 0.3125, 9.5, 0.3125, 9.5, 0, 0.3125, 5]);
    expect(Array.from(r.index)).toEqual([0, -1, 2, -1, 0, 2, 0, 2, -1, 0, 1]);
    expect(Array.from(r.counts)).toEqual([4, 1, 3]);
    for (const i of [1, 3, 8]) expect(isPlusZero(r.values[i]!)).toBe(true);
    expect(r.nonZeros).toBe(8);
    // (2 x 0.1875^2 + 2 x 0.0625^2 + 2 x 0.5^2) / 8, all exact in binary.
    expect(r.mse).toBe(0.578125 / 8);
    expect(Array.from(distinctNonZero(r.values))).toEqual([0.3125, 5, 9.5]);
  });

  test('an all-zero tensor stays zero with an empty codebook; NaN is refused', () => {
    const r = clusterWeights(new Float32Array(6), opts());
    expect(r.codebook.length).toBe(0);
    expect(Array.from(r.values).every(isPlusZero)).toBe(true);
    expect(() => clusterWeights(f32([1, Number.NaN]), opts())).toThrow('weight 1 is NaN: only finite weights can be clustered');
  });

  test('bits per index', () => {
    expect([2, 3, 4, 5, 16, 17, 32, 256].map(bitsPerIndex)).toEqual([1, 2, 2, 3, 4, 5, 5, 8]);
  });
});

describe('fine-tuning helpers', () => {
  const index = Int32Array.from([0, -1, 1, 0, 1]);
  test('gradients are summed per cluster (over tied copies too) and broadcast; zeros get 0', () => {
    const out = clusterGradients([f32([1, 7, 2, 3, 4]), f32([10, 7, 20, 30, 40])], index, 2, new Float32Array(5));
    expect(Array.from(out)).toEqual([44, 0, 66, 44, 66]);
  });
  test('weights are re-snapped to the mean of their cluster; zeros to +0', () => {
    const out = new Float32Array(5);
    const c = snapToClusterMeans([f32([1, -3, 2, 3, 4]), f32([3, 5, 4, 1, 6])], index, 2, out);
    expect(Array.from(c)).toEqual([2, 4]);
    expect(Array.from(out)).toEqual([2, 0, 4, 2, 4]);
    expect(isPlusZero(out[1]!)).toBe(true);
  });
});
