/**
 * When a latency measurement stops, one rule for every runtime that times
 * runs in chunks (a Chromium page with tfjs, the TFLite interpreter): warm-up
 * for at most half of maxSeconds, then timed runs until the p50 and p95
 * confidence intervals are tight (sample-stats.ts), maxRuns are done or
 * maxSeconds is spent. The Node child (latency-child.ts) applies the same
 * rule run by run, with the same defaults.
 */
import { sortedCopy, stability } from './sample-stats.js';
import type { LatencyRunOptions, StopReason } from './latency-stats.js';

/** The defaults documented on LatencyRunOptions. */
export const STOPPING_DEFAULTS = {
  batch: 1,
  warmup: 10,
  minRuns: 30,
  maxRuns: 1000,
  targetRelativeSpread: 0.05,
  maxSeconds: 10,
  minSeconds: 0,
  seed: 0,
  maxSamples: 0,
} as const;

/** Share of maxSeconds that warm-up may use, so a slow model still gets timed runs. */
export const WARMUP_TIME_SHARE = 0.5;
/** Timed runs between two stability checks (a check sorts the samples). */
export const CHECK_EVERY = 10;

/** LatencyRunOptions with every default applied and checked. */
export interface StoppingRule {
  batch: number;
  warmup: number;
  minRuns: number;
  maxRuns: number;
  targetRelativeSpread: number;
  maxSeconds: number;
  minSeconds: number;
  seed: number;
  maxSamples: number;
}

/** Applies the defaults and throws a TypeError naming the first bad option. */
export function resolveStoppingRule(options: LatencyRunOptions): StoppingRule {
  const d = STOPPING_DEFAULTS;
  const minRuns = positiveInt('minRuns', options.minRuns ?? d.minRuns);
  const maxRuns = positiveInt('maxRuns', options.maxRuns ?? d.maxRuns);
  if (maxRuns < minRuns) throw new TypeError(`Expected maxRuns to be >= minRuns (${minRuns}), got ${maxRuns}`);
  const targetRelativeSpread = options.targetRelativeSpread ?? d.targetRelativeSpread;
  if (typeof targetRelativeSpread !== 'number' || !(targetRelativeSpread > 0)) {
    throw new TypeError(`Expected targetRelativeSpread to be a number > 0, got ${show(targetRelativeSpread)}`);
  }
  const maxSeconds = positiveNumber('maxSeconds', options.maxSeconds ?? d.maxSeconds);
  const minSeconds = options.minSeconds ?? d.minSeconds;
  if (typeof minSeconds !== 'number' || !(minSeconds >= 0) || !Number.isFinite(minSeconds)) {
    throw new TypeError(`Expected minSeconds to be a finite number >= 0, got ${show(minSeconds)}`);
  }
  const seed = integer('seed', options.seed ?? d.seed);
  return {
    batch: positiveInt('batch', options.batch ?? d.batch),
    warmup: nonNegativeInt('warmup', options.warmup ?? d.warmup),
    minRuns,
    maxRuns,
    targetRelativeSpread,
    maxSeconds,
    minSeconds,
    seed,
    maxSamples: nonNegativeInt('maxSamples', options.maxSamples ?? d.maxSamples),
  };
}

/**
 * Does `count` runs (fewer when `budgetMs` runs out) and returns each run's
 * milliseconds; warm-up runs may return placeholders, only their number counts.
 * `count` 0 is never asked.
 */
export type TimeRuns = (count: number, budgetMs: number, phase: 'warmup' | 'timed') => Promise<number[]>;

export interface SampledRuns {
  warmupRuns: number;
  samples: number[];
  stopReason: StopReason;
  /** Warm-up + timed runs, in seconds. */
  measureSeconds: number;
}

/** Warms up, then times runs in chunks until `rule` says stop. */
export async function sampleUntilStable(rule: StoppingRule, time: TimeRuns, signal?: AbortSignal): Promise<SampledRuns> {
  const start = performance.now();
  const deadline = start + rule.maxSeconds * 1000;
  const left = (): number => Math.max(0, deadline - performance.now());
  const warmupRuns = rule.warmup > 0 ? (await time(rule.warmup, rule.maxSeconds * 1000 * WARMUP_TIME_SHARE, 'warmup')).length : 0;

  const samples: number[] = [];
  const earliestStable = performance.now() + rule.minSeconds * 1000;
  let stopReason: StopReason;
  for (;;) {
    signal?.throwIfAborted();
    const want = samples.length < rule.minRuns ? rule.minRuns - samples.length : Math.min(CHECK_EVERY, rule.maxRuns - samples.length);
    samples.push(...(await time(want, left(), 'timed')));
    const n = samples.length;
    if (n >= rule.minRuns && performance.now() >= earliestStable && stability(sortedCopy(samples), rule.targetRelativeSpread).stable) {
      stopReason = 'stable';
      break;
    }
    if (n >= rule.maxRuns) {
      stopReason = 'maxRuns';
      break;
    }
    if (left() <= 0) {
      stopReason = 'maxSeconds';
      break;
    }
  }
  return { warmupRuns, samples, stopReason, measureSeconds: (performance.now() - start) / 1000 };
}

export function positiveInt(key: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new TypeError(`Expected ${key} to be a positive integer, got ${show(v)}`);
  return v as number;
}

export function integer(key: string, v: unknown): number {
  if (!Number.isSafeInteger(v)) throw new TypeError(`Expected ${key} to be an integer, got ${show(v)}`);
  return v as number;
}

export function positiveNumber(key: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new TypeError(`Expected ${key} to be a finite number > 0, got ${show(v)}`);
  return v;
}

export function nonNegativeInt(key: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new TypeError(`Expected ${key} to be an integer >= 0, got ${show(v)}`);
  return v as number;
}

export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}
