/**
 * What crosses Redis between a submitting run and a queue worker. Only plain
 * JSON: the stage task (as a local worker thread gets it, minus the scratch
 * directory, which is the worker's own), the node's cache key and key record,
 * and back the outcome. Artifacts never cross Redis: they are published into
 * the shared cache, and the submitter reads them from there by key.
 */
import type { Json, StageProgress } from '../../plugin.js';
import type { KeyRecord } from '../../plan/key-record.js';
import type { FailurePhase } from '../events.js';
import type { SerializedError } from '../stage-failure.js';
import type { WorkerTask } from '../worker-protocol.js';

/** The BullMQ queue every submitter and worker of one Redis shares (no `:`: BullMQ forbids it). */
export const QUEUE_NAME = 'modelpress-nodes';

/**
 * Pub/sub channel on which a submitter interrupted by Ctrl-C names the jobs
 * to abort; every worker listens and stops the stages it runs for them.
 */
export const ABORT_CHANNEL = 'modelpress:abort';

/** A job's data. The job id is `key`: two runs that need one node share one job. */
export interface NodeJobData {
  /** The node's cache key (64 hex). */
  key: string;
  /** The record the key was computed from: the worker compares its own versions with it. */
  record: KeyRecord;
  task: Omit<WorkerTask, 'scratchDir'>;
  /** Output names the stage declares; the worker checks each is a directory before publishing. */
  outputs: string[];
  /** Who enqueued it, for the worker's log: `host:pid`. */
  submitter: string;
}

/** Who ran a node and how long it waited in the queue; recorded in run.json. */
export interface WorkerStamp {
  /** `host:pid` of the worker process. Example: `gpu-box-2:41233`. */
  worker: string;
  /** Enqueue to start on the worker, ms. */
  queueWaitMs: number;
}

/**
 * A job's return value. Deterministic failures (the stage threw, a version
 * refusal) are returned, not thrown, so BullMQ never retries them; only a
 * lost worker (its lock lapsed) puts a job back in the queue.
 */
export type NodeJobOutcome =
  | ({ ok: true; /** The entry was already in the cache: nothing ran. */ cached: boolean; cacheDir: string } & WorkerStamp)
  | ({ ok: false; phase: FailurePhase; error: SerializedError; cancelled?: boolean } & WorkerStamp);

/** What a worker streams back while a node runs (BullMQ job progress). */
export type NodeJobUpdate =
  | { type: 'progress'; progress: StageProgress }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string; fields?: Record<string, Json> }
  | { type: 'started'; worker: string; queueWaitMs: number };

/** What a submitter gets for one node. */
export type RemoteOutcome = NodeJobOutcome | { ok: false; phase: FailurePhase; error: SerializedError; lost: true };

export interface RemoteRunOptions {
  signal: AbortSignal;
  onUpdate(update: NodeJobUpdate): void;
}

/**
 * The scheduler's seam for running a cache miss somewhere else than in a
 * local worker thread. The scheduler keeps the DAG, the cache lookups and the
 * key computation; the executor only runs a node and publishes it into the
 * shared cache under `job.key`.
 */
export interface RemoteExecutor {
  /** Where results land, for messages: `redis://127.0.0.1:6379`. */
  readonly describe: string;
  run(job: NodeJobData, opts: RemoteRunOptions): Promise<RemoteOutcome>;
}
