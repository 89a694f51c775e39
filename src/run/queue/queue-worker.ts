/**
 * `modelpress worker`: takes node jobs from the BullMQ queue and runs each in
 * a worker thread, exactly as a local run does (runInWorker, the same
 * worker-entry and stage code), then publishes the outputs into the shared
 * cache under the job's key.
 *
 * Why a thread: BullMQ renews a job's lock from this process's event loop; a
 * CPU-bound stage on that loop would let the lock lapse and the job would be
 * handed to a second worker while the first still runs it (its maintainers'
 * advice: sandboxed processors). With the stage in a thread, the loop stays
 * free and a node that runs for hours keeps its lock.
 *
 * What makes at-least-once delivery harmless: the key names the content, the
 * cache publishes atomically, a hit short-cuts the job, and the key's lock
 * file (the same single-flight local runs use) keeps two workers, or a
 * worker and a local run, from computing one node at once.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DelayedError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { CacheStore } from '../../cache/index.js';
import type { Json } from '../../plugin.js';
import type { FailurePhase } from '../events.js';
import type { SerializedError } from '../stage-failure.js';
import { runInWorker } from '../worker-task.js';
import { ABORT_CHANNEL, QUEUE_NAME } from './job-payload.js';
import type { NodeJobData, NodeJobOutcome, NodeJobUpdate, WorkerStamp } from './job-payload.js';
import { openRedis } from './redis-connection.js';
import type { QueueUrl } from './redis-connection.js';
import { versionRefusal } from './version-check.js';

export interface QueueWorkerOptions {
  queue: QueueUrl;
  /** The shared cache; every worker and submitter must mount the same directory. */
  store: CacheStore;
  /** Scratch space for running stages. Example: /var/tmp/modelpress-worker. */
  workDir: string;
  /** Nodes run at once. Default: 1. */
  jobs?: number;
  /**
   * How long a job's lock lasts without renewal; a worker killed mid-node
   * hands its job to another worker after about this long (plus the stalled
   * check interval, the same value). Default: 30000.
   */
  lockMs?: number;
  /** Times a job may lose its worker before it fails the run. Default: 2. */
  maxStalled?: number;
  /** How long Redis may stay away before the worker stops. Default: 10000. */
  lostAfterMs?: number;
  workerMemoryMb?: number;
  /** Lines for the worker's own log (what it took, refused, published). */
  log(line: string): void;
}

export interface RunningQueueWorker {
  /** `host:pid`. */
  readonly id: string;
  /** Resolves with the reason when the worker stops by itself (Redis lost). */
  readonly lost: Promise<string>;
  /** Stops taking jobs; running stages are stopped and their jobs go back to the queue. */
  close(): Promise<void>;
}

/** Progress updates sent to Redis at most this often per job (stages report far more often). */
const PROGRESS_EVERY_MS = 250;
/** How often a worker waiting on another holder of the key's lock looks for the entry. */
const WAIT_POLL_MS = 200;

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<RunningQueueWorker> {
  const jobs = opts.jobs ?? 1;
  const lockMs = opts.lockMs ?? 30_000;
  const maxStalled = opts.maxStalled ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) throw new TypeError(`Expected jobs to be a positive integer, got ${jobs}`);
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new TypeError(`Expected lockMs to be an integer >= 1000, got ${lockMs}`);
  if (!Number.isInteger(maxStalled) || maxStalled < 1) throw new TypeError(`Expected maxStalled to be a positive integer, got ${maxStalled}`);
  const id = `${hostname()}:${process.pid}`;
  const running = new Map<string, AbortController>();
  let stopping = false;
  let lostResolve!: (reason: string) => void;
  const lost = new Promise<string>((resolve) => (lostResolve = resolve));
  // Our own close() ends the connections too: that is not a lost Redis.
  const onLost = (reason: string) => {
    if (!stopping) lostResolve(reason);
  };

  const sub = openRedis(opts.queue, onLost, opts.lostAfterMs);
  sub.on('message', (_channel: string, key: string) => running.get(key)?.abort(new Error('run interrupted')));
  await sub.subscribe(ABORT_CHANNEL);

  const processor = async (job: Job<NodeJobData, NodeJobOutcome>, token?: string): Promise<NodeJobOutcome> => {
    const stamp: WorkerStamp = { worker: id, queueWaitMs: Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp) };
    const abort = new AbortController();
    running.set(job.data.key, abort);
    try {
      const outcome = await runJob(job, stamp, abort.signal, opts);
      if (stopping && abort.signal.aborted && token) {
        // Stopped by our own shutdown, not by the run: back to the queue for another worker.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      opts.log(`${outcome.ok ? (outcome.cached ? 'cached' : 'ran') : 'failed'} ${job.data.task.node} ${job.data.key.slice(0, 12)}${outcome.ok ? '' : `: ${outcome.error.message}`}`);
      return outcome;
    } finally {
      running.delete(job.data.key);
    }
  };

  const connection = openRedis(opts.queue, onLost, opts.lostAfterMs);
  const worker = new Worker<NodeJobData, NodeJobOutcome>(QUEUE_NAME, processor, {
    connection,
    concurrency: jobs,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: maxStalled,
  });
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  opts.log(`worker ${id} takes jobs from ${opts.queue.url} (queue ${QUEUE_NAME}, ${jobs} at once), cache ${opts.store.dir}`);

  return {
    id,
    lost,
    async close() {
      stopping = true;
      for (const a of running.values()) a.abort(new Error('worker stopping'));
      // Not waiting for Redis when it is gone: BullMQ's close would retry until it comes back.
      await Promise.race([worker.close(), lost]);
      sub.disconnect();
      connection.disconnect();
    },
  };
}

async function runJob(job: Job<NodeJobData, NodeJobOutcome>, stamp: WorkerStamp, signal: AbortSignal, opts: QueueWorkerOptions): Promise<NodeJobOutcome> {
  const { key, record, task } = job.data;
  const update = (u: NodeJobUpdate) => job.updateProgress(u as unknown as object).catch(() => undefined);
  const fail = (phase: FailurePhase, error: SerializedError) => ({ ok: false as const, phase, error, ...stamp });
  const cached = (): NodeJobOutcome => ({ ok: true, cached: true, cacheDir: opts.store.dir, ...stamp });
  await update({ type: 'started', ...stamp });

  const refusal = versionRefusal(record);
  if (refusal) return fail('load', { name: 'VersionMismatch', message: `worker ${stamp.worker} refuses node ${task.node}: ${refusal}` });
  if ((await opts.store.get(key)).status === 'hit') return cached();

  // Single-flight with local runs and other workers on the same cache.
  let lock;
  for (;;) {
    if (signal.aborted) return { ...fail('run', { name: 'AbortError', message: 'run interrupted' }), cancelled: true };
    const attempt = await opts.store.locks.tryAcquire(key);
    if (attempt.status === 'acquired') {
      lock = attempt.lock;
      break;
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    if ((await opts.store.get(key)).status === 'hit') return cached();
  }
  const scratchDir = join(opts.workDir, key);
  try {
    if ((await opts.store.get(key)).status === 'hit') return cached();
    await rm(scratchDir, { recursive: true, force: true });
    await mkdir(scratchDir, { recursive: true });
    let lastProgress = 0;
    const outcome = await runInWorker(
      { ...task, scratchDir },
      {
        signal,
        ...(opts.workerMemoryMb ? { memoryMb: opts.workerMemoryMb } : {}),
        onLog: (level, message, fields) => void update({ type: 'log', level, message, ...(fields ? { fields: fields as Record<string, Json> } : {}) }),
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastProgress < PROGRESS_EVERY_MS && progress.done !== progress.total) return;
          lastProgress = now;
          void update({ type: 'progress', progress });
        },
      },
    );
    if (!outcome.ok) {
      if (signal.aborted) return { ...fail('run', outcome.error), cancelled: true };
      // The thread checks the stage's version and code against the key (worker-entry.ts).
      if (outcome.phase === 'load') return fail('load', { ...outcome.error, message: `worker ${stamp.worker} refuses node ${task.node}: ${outcome.error.message}` });
      return fail(outcome.phase, outcome.error);
    }
    const outputs = outcome.result.outputs ?? {};
    for (const name of job.data.outputs) {
      const dir = outputs[name];
      const ok = typeof dir === 'string' && (await stat(dir).then((s) => s.isDirectory(), () => false));
      if (!ok) return fail('outputs', { name: 'Error', message: `output \`${name}\` was declared but ${dir === undefined ? 'not returned' : `is not a directory: ${String(dir)}`}` });
    }
    try {
      await opts.store.put(key, { outputs, result: { metrics: (outcome.result.metrics ?? {}) as Record<string, Json> }, record, node: task.node });
    } catch (error) {
      return fail('cache', { name: (error as Error).name, message: `worker ${stamp.worker} cannot store the result in cache ${opts.store.dir}: ${(error as Error).message}` });
    }
    return { ok: true, cached: false, cacheDir: opts.store.dir, ...stamp };
  } finally {
    await lock.release();
    await rm(scratchDir, { recursive: true, force: true });
  }
}
