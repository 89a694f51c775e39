/**
 * Messages between `measureLatency` (parent) and latency-child.ts (a separate
 * Node process), over the child_process IPC channel with JSON serialisation.
 * Types only: both sides import this without pulling in the other.
 */
import type { LatencyStats } from './latency-stats.js';
import type { StoppingRule } from './stopping-rule.js';

/** The runtimes a device can name. */
export type LatencyRuntime = 'wasm' | 'cpu' | 'tfjs-node';

export const LATENCY_RUNTIMES: readonly LatencyRuntime[] = ['wasm', 'cpu', 'tfjs-node'];

export type { StopReason } from './latency-stats.js';

/** Parent -> child: what to measure (options already validated, defaults applied). */
export interface LatencyTask extends StoppingRule {
  modelDir: string;
  runtime: LatencyRuntime;
  threads: number;
}

/** Child -> parent: the measurement (see LatencyResult in latency.ts for field docs). */
export interface LatencyChildReport extends LatencyStats {
  pid: number;
  nodeVersion: string;
  tfjsVersion: string;
  backendActual: string;
  threadsActual: number | null;
  notes: string[];
  inputShapes: number[][];
  loadMs: number;
  warmupRuns: number;
  runs: number;
  measureSeconds: number;
}

/** What went wrong in the child, for the parent's LatencyError code. */
export type ChildFailure = 'model' | 'runtime' | 'measure';

export type ChildMessage =
  /** Sent once the child listens for the task: a message sent earlier could be emitted before any listener exists. */
  | { type: 'ready' }
  | { type: 'result'; report: LatencyChildReport }
  | { type: 'error'; failure: ChildFailure; message: string };

export type ParentMessage = { type: 'task'; task: LatencyTask };
