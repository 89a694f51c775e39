/**
 * Messages between `measureInterleaved` (parent, interleaved-latency.ts) and
 * interleaved-latency-child.ts, over the child_process IPC channel. Types
 * only: both sides import this without pulling in the other.
 */
import type { LatencyRuntime } from './latency-protocol.js';

/** Parent -> child: the models to time together (validated, defaults applied). */
export interface InterleavedTask {
  modelDirs: string[];
  runtime: LatencyRuntime;
  threads: number;
  batch: number;
  /** Untimed runs of each model before the rounds. */
  warmup: number;
  /** Timed runs per model at least (the rounds go on past the deadline until every model has them). */
  minRuns: number;
  /** Timed runs per model at most. */
  maxRuns: number;
  /** Timed rounds last about this many seconds times the number of models. */
  secondsPerModel: number;
  seed: number;
}

/** One model's timed runs, in milliseconds per inference. */
export interface InterleavedModelStats {
  runs: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
}

export interface InterleavedReport {
  backendActual: string;
  /** Wall time of the timed rounds. */
  seconds: number;
  /** In the task's order. */
  models: InterleavedModelStats[];
}

export type InterleavedChildMessage = { type: 'ready' } | { type: 'result'; report: InterleavedReport } | { type: 'error'; message: string };

export type InterleavedParentMessage = { type: 'task'; task: InterleavedTask };
