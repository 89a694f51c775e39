/**
 * The latency statistics every latency report carries, whatever measured it
 * (the Node child, latency-child.ts, or a Chromium page,
 * src/browser/browser-latency.ts), and the one mapping from sample-stats.ts's
 * summary and stopping state to them. Times in milliseconds per inference.
 */
import type { SampleSummary, Stability } from './sample-stats.js';

/** Why the timed loop ended. */
export type StopReason =
  /** p50 and p95 confidence intervals both within ±targetRelativeSpread. */
  | 'stable'
  /** maxRuns timed runs done before that. */
  | 'maxRuns'
  /** maxSeconds of warm-up + timed runs spent before that. */
  | 'maxSeconds';

/** Statistics of the timed runs of a latency measurement, in milliseconds. */
export interface LatencyStats {
  /** Why the timed loop ended. */
  stopReason: StopReason;
  /** The p50/p95 intervals met targetRelativeSpread at the end. */
  stable: boolean;
  /** Nearest-rank median. */
  p50Ms: number;
  /** Nearest-rank 95th percentile. */
  p95Ms: number;
  /** Mean run time. */
  meanMs: number;
  /** Fastest run. */
  minMs: number;
  /** Slowest run. */
  maxMs: number;
  /** Sample standard deviation (0 for one run). */
  stdevMs: number;
  /** p95Ms / p50Ms. */
  spread: number;
  /** ~95% distribution-free confidence interval of p50; null with too few runs. */
  p50IntervalMs: [number, number] | null;
  /** ~95% distribution-free confidence interval of p95; null with too few runs. */
  p95IntervalMs: [number, number] | null;
  /** Up to maxSamples raw times in run order; absent when maxSamples is 0. */
  samplesMs?: number[];
}

/**
 * The LatencyStats of `summary` (of the samples in ms) and `stability` (of the
 * same samples) for a loop that ended for `stopReason`; without samplesMs,
 * which the caller adds when asked for.
 */
export function latencyStats(summary: SampleSummary, stability: Stability, stopReason: StopReason): LatencyStats {
  return {
    stopReason,
    stable: stability.stable,
    p50Ms: summary.p50,
    p95Ms: summary.p95,
    meanMs: summary.mean,
    minMs: summary.min,
    maxMs: summary.max,
    stdevMs: summary.stdev,
    spread: summary.spread,
    p50IntervalMs: stability.p50Interval,
    p95IntervalMs: stability.p95Interval,
  };
}
