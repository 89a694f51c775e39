/**
 * Typed events the runner streams while it works. The CLI renders them (live
 * progress lines, plain lines, or JSON lines) and logs them to the run's log
 * file; core code never prints.
 */
import type { Json, StageProgress } from '../plugin.js';
import type { Diagnostic } from '../recipe/diagnostic.js';
import type { SerializedError } from './stage-failure.js';

export type NodeStatus = 'ran' | 'cached' | 'failed' | 'skipped' | 'cancelled';

export type RunEvent =
  | { type: 'run-started'; nodes: string[]; jobs: number; runDir: string }
  | { type: 'node-started'; node: string; key: string; reasons: string[] }
  | { type: 'node-progress'; node: string; progress: StageProgress }
  | { type: 'node-log'; node: string; level: 'debug' | 'info' | 'warn'; message: string; fields?: Record<string, Json> }
  | { type: 'node-cached'; node: string; key: string }
  | { type: 'cache-corrupt'; node: string; key: string; reason: string }
  | { type: 'node-finished'; node: string; durationMs: number; metrics: Record<string, Json> }
  // `cause`: the error the stage threw, with its own cause chain (kept so the log shows the root cause).
  | { type: 'node-failed'; node: string; message: string; phase: FailurePhase; cause?: SerializedError; diagnostic?: Diagnostic }
  | { type: 'node-skipped'; node: string; because: string }
  | { type: 'run-finished'; status: RunStatus; counts: Record<NodeStatus, number>; durationMs: number };

// `queue`: the node's job could not be run through the queue (Redis lost, worker lost too often).
export type FailurePhase = 'load' | 'run' | 'outputs' | 'cache' | 'worker' | 'queue';

export type RunStatus = 'succeeded' | 'failed' | 'interrupted';

export type EventSink = (event: RunEvent) => void;
