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

/** How a latency measurement runs, Node or browser (each adds its own options). */
export interface LatencyRunOptions {
  /** Examples per inference (the input's batch dimension). Default: 1. */
  batch?: number;
  /** Untimed runs first (JIT, XNNPACK operator setup, allocator warm-up). Default: 10. */
  warmup?: number;
  /** Timed runs at least (unless maxSeconds runs out first). Default: 30. */
  minRuns?: number;
  /** Timed runs at most. Default: 1000. */
  maxRuns?: number;
  /**
   * Stop once the ~95% confidence intervals of p50 and p95 are both within
   * ±this fraction of their estimate (see sample-stats.ts). Default: 0.05.
   */
  targetRelativeSpread?: number;
  /** Time for warm-up + timed runs, in seconds. Default: 10. */
  maxSeconds?: number;
  /**
   * Timed runs go on at least this long (seconds) before the p50/p95
   * intervals may stop them as stable; maxRuns and maxSeconds still end them.
   * Sub-millisecond models reach "stable" within a few ms, a window where
   * one scheduler preemption or GC pause decides the p95 (docs/stages.md,
   * "Why p95 is 10x p50 on tiny models"); a window of a second spans many.
   * Default: 0 (Node measureLatency); evaluate uses 1.
   */
  minSeconds?: number;
  /** Seed of the random input. Default: 0. */
  seed?: number;
  /** Return up to this many raw per-run times (strided over the run order). Default: 0 (none). */
  maxSamples?: number;
  /** Aborting stops the measurement and rejects with an AbortError. */
  signal?: AbortSignal;
}

/** What every latency measurement reports besides the statistics, Node or browser. */
export interface LatencyMeasurement extends LatencyStats {
  /** The tfjs backend that ran ('wasm', 'cpu', 'webgl', 'tensorflow' for tfjs-node). */
  backendActual: string;
  threadsRequested: number;
  /** Threads the backend reports using; null when it does not say (tfjs-node). */
  threadsActual: number | null;
  batch: number;
  /** Warm-up runs done (fewer than asked when half of maxSeconds ran out). */
  warmup: number;
  /** Timed runs. */
  runs: number;
  /** Input tensor shapes used, batch included. */
  inputShapes: number[][];
  /** Time taken to load the model (not part of the latency). */
  loadMs: number;
  /** Wall time of warm-up + timed runs, in seconds. */
  measureSeconds: number;
  /** Facts worth showing next to the numbers (e.g. threads not applied). */
  notes: string[];
  tfjsVersion: string;
}
