/**
 * run.json: the record of one run, stable and documented (docs/run-record.md).
 * It holds everything needed to understand or reproduce the run: the
 * resolved recipe, the versions that computed it, and per node its key,
 * status, timing, metrics and artifact digests.
 */
import type { Json } from '../plugin.js';
import type { KeyRecord } from '../plan/key-record.js';
import type { FailurePhase, NodeStatus, RunStatus } from './events.js';
import type { SerializedError } from './stage-failure.js';

export const RUN_RECORD_VERSION = 1;

export interface RunRecordNode {
  id: string;
  stage: string;
  uses: string;
  /** `builtin`, a plugin file path as listed in the recipe, or a package name. */
  plugin: string;
  matrix: Record<string, string | number | boolean>;
  inputs: string[];
  config: Record<string, Json>;
  key: string | null;
  keyRecord: KeyRecord | null;
  status: NodeStatus;
  cacheHit: boolean;
  durationMs: number;
  /** Why it ran (what changed in its key); empty for cached nodes. */
  reasons: string[];
  metrics: Record<string, Json>;
  /** Output name -> cache entry directory and `sha256:` digest. */
  outputs: Record<string, { path: string; digest: string }>;
  /** Nodes a queue worker ran (`run --queue`): its `host:pid` and the time from enqueue to start. */
  worker?: { id: string; queueWaitMs: number };
  /** `cause`: the error the stage threw (name, message, stack), with its own `cause` chain. */
  error: { phase: FailurePhase; message: string; cause?: SerializedError } | null;
}

export interface RunRecord {
  runRecordVersion: typeof RUN_RECORD_VERSION;
  status: RunStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  recipe: {
    file: string;
    name: string;
    sources: string[];
    overrides: string[];
    resolved: Record<string, Json>;
  };
  versions: { modelpress: string; node: string; tfjs: string | null; backend: string };
  cacheDir: string;
  jobs: number;
  /** The Redis URL of `run --queue`; absent for local runs. */
  queue?: string;
  nodes: RunRecordNode[];
  /** Final nodes' outputs copied into the run directory: node -> output -> path relative to run.json. */
  artifacts: Record<string, Record<string, string>>;
}
