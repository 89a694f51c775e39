/**
 * Summary statistics of timing samples, and the rule that decides when there
 * are enough of them.
 *
 * Percentiles use the nearest-rank method: the p-th percentile of n sorted
 * samples is the sample at 1-based rank ceil(p/100 * n). It always returns a
 * value that was actually measured (no interpolation between two runs), it is
 * what most latency tooling reports, and a budget "p95 <= 2 ms" then reads as
 * "at least 95% of the runs took at most 2 ms", which is exactly true of it.
 *
 * Stability: latency distributions are skewed and heavy-tailed (GC pauses,
 * the OS scheduling another process on a busy machine), so a stopping rule
 * based on the mean and a normal approximation would be wrong. Instead each
 * percentile gets a distribution-free confidence interval from order
 * statistics: the number of samples below the true q-quantile is
 * Binomial(n, q), so with the normal approximation of that binomial the
 * sorted samples at ranks n*q -/+ z*sqrt(n*q*(1-q)) bracket the quantile with
 * ~95% confidence (z = 1.96), whatever the shape of the distribution. The
 * measurement is "stable" when both the p50 and the p95 interval are narrower
 * than ±target of their estimate. Pure, no I/O, so the child process and the
 * tests share it.
 */

/** z for a two-sided 95% confidence interval. */
export const Z_95 = 1.959964;

/** The percentiles every latency report carries. */
export const REPORTED_PERCENTILES = [50, 95] as const;

export interface SampleSummary {
  /** Number of samples. */
  count: number;
  /** Nearest-rank median. */
  p50: number;
  /** Nearest-rank 95th percentile. */
  p95: number;
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation (n - 1 in the denominator; 0 for one sample). */
  stdev: number;
  /** p95 / p50: how heavy the tail is (1 = every run as fast as the median). */
  spread: number;
}

/** A confidence interval [low, high] around a percentile, in the samples' unit. */
export type Interval = [low: number, high: number];

/**
 * The nearest-rank p-th percentile (0 < p <= 100) of ascending `sorted`.
 * @throws RangeError for no samples or p outside (0, 100].
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('Expected at least one sample, got none');
  if (!(p > 0 && p <= 100)) throw new RangeError(`Expected a percentile in (0, 100], got ${p}`);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Summary of `samples` (any order; not modified). @throws RangeError for no samples. */
export function summarize(samples: ArrayLike<number>): SampleSummary {
  const sorted = sortedCopy(samples);
  const n = sorted.length;
  if (n === 0) throw new RangeError('Expected at least one sample, got none');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sorted[i]! - mean) ** 2;
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  return {
    count: n,
    p50,
    p95,
    mean,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    stdev: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    spread: p50 > 0 ? p95 / p50 : Number.NaN,
  };
}

/**
 * Distribution-free ~95% confidence interval of the q-quantile (0 < q < 1)
 * from ascending `sorted`, or null when there are too few samples for its
 * ranks to exist (the p95 interval needs about 75 samples).
 */
export function quantileInterval(sorted: ArrayLike<number>, q: number, z: number = Z_95): Interval | null {
  if (!(q > 0 && q < 1)) throw new RangeError(`Expected a quantile in (0, 1), got ${q}`);
  const n = sorted.length;
  const center = n * q;
  const half = z * Math.sqrt(n * q * (1 - q));
  const lowRank = Math.floor(center - half);
  const highRank = Math.ceil(center + half);
  if (lowRank < 1 || highRank > n) return null;
  return [sorted[lowRank - 1]!, sorted[highRank - 1]!];
}

export interface Stability {
  /** Both intervals exist and each half-width is within `target` x its percentile. */
  stable: boolean;
  p50Interval: Interval | null;
  p95Interval: Interval | null;
}

/**
 * Whether the p50 and p95 estimates of ascending `sorted` are pinned down to
 * within ±`target` (relative, e.g. 0.05 = 5%) of their value.
 */
export function stability(sorted: ArrayLike<number>, target: number): Stability {
  const p50Interval = quantileInterval(sorted, 0.5);
  const p95Interval = quantileInterval(sorted, 0.95);
  const tight = (interval: Interval | null, p: number): boolean => {
    if (interval === null) return false;
    const estimate = percentile(sorted, p);
    return (interval[1] - interval[0]) / 2 <= target * estimate;
  };
  return { stable: tight(p50Interval, 50) && tight(p95Interval, 95), p50Interval, p95Interval };
}

/** An ascending Float64Array copy (numeric sort, unlike Array.prototype.sort's default). */
export function sortedCopy(samples: ArrayLike<number>): Float64Array {
  return Float64Array.from(samples).sort();
}

/**
 * At most `max` of `samples`, evenly strided over the run order (first and
 * last kept), so a capped list still shows drift over the measurement.
 */
export function strideSamples(samples: readonly number[], max: number): number[] {
  if (max <= 0) return [];
  if (samples.length <= max) return [...samples];
  if (max === 1) return [samples[0]!];
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(samples[Math.round((i * (samples.length - 1)) / (max - 1))]!);
  return out;
}
