/**
 * The submitting side of a distributed run: the planner stays here and keeps
 * the DAG (BullMQ Flows are trees, a recipe is not); each cache miss whose
 * inputs are ready becomes one BullMQ job whose id is the node's cache key,
 * so two runs (or two submissions) that need one node share one job. The
 * scheduler awaits `run()` like a local worker thread.
 *
 * Results arrive as QueueEvents (a Redis stream every submitter reads), so a
 * second submitter that found the job already queued is told when it
 * finishes too. Listening starts before the first job is added, so no
 * completion is missed.
 */
import { hostname } from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SerializedError } from '../stage-failure.js';
import { ABORT_CHANNEL, QUEUE_NAME } from './job-payload.js';
import type { NodeJobData, NodeJobOutcome, NodeJobUpdate, RemoteExecutor, RemoteOutcome, RemoteRunOptions } from './job-payload.js';
import { openRedis } from './redis-connection.js';
import type { QueueUrl } from './redis-connection.js';

export interface SubmitterOptions {
  queue: QueueUrl;
  /** How long Redis may stay unreachable mid-run before the run fails. Default: 10000. */
  lostAfterMs?: number;
}

interface Waiter {
  resolve(outcome: RemoteOutcome): void;
  onUpdate(update: NodeJobUpdate): void;
}

export class QueueSubmitter implements RemoteExecutor {
  readonly describe: string;
  readonly #queue: Queue<NodeJobData, NodeJobOutcome>;
  readonly #events: QueueEvents;
  readonly #pub: Redis;
  /** BullMQ does not close connections it was given: we do. */
  readonly #connections: Redis[];
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #id = `${hostname()}:${process.pid}`;
  #lost: string | undefined;

  private constructor(opts: SubmitterOptions) {
    this.describe = opts.queue.url;
    const lost = (reason: string) => this.#fail(reason);
    this.#connections = [0, 1, 2].map(() => openRedis(opts.queue, lost, opts.lostAfterMs));
    this.#pub = this.#connections[0]!;
    this.#queue = new Queue(QUEUE_NAME, { connection: this.#connections[1]! });
    this.#events = new QueueEvents(QUEUE_NAME, { connection: this.#connections[2]! });
    // BullMQ re-emits connection errors here; the `end` of a connection is what fails the run.
    this.#queue.on('error', () => undefined);
    this.#events.on('error', () => undefined);
    this.#events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, returnvalue as unknown as NodeJobOutcome));
    this.#events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId, lostOutcome('worker', `the job was lost: ${failedReason} (a worker died or stopped while running it, more often than --max-stalled allows)`)));
    this.#events.on('progress', ({ jobId, data }) => {
      for (const w of this.#waiters.get(jobId) ?? []) w.onUpdate(data as unknown as NodeJobUpdate);
    });
  }

  /** Connects and starts listening for results; call after `checkRedis` said Redis answers. */
  static async open(opts: SubmitterOptions): Promise<QueueSubmitter> {
    const s = new QueueSubmitter(opts);
    await s.#events.waitUntilReady();
    await s.#queue.waitUntilReady();
    return s;
  }

  run(job: NodeJobData, opts: RemoteRunOptions): Promise<RemoteOutcome> {
    if (this.#lost) return Promise.resolve(lostOutcome('queue', this.#lost));
    return new Promise<RemoteOutcome>((resolve) => {
      const waiter: Waiter = {
        resolve: (outcome) => {
          this.#waiters.get(job.key)?.delete(waiter);
          opts.signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
        onUpdate: opts.onUpdate,
      };
      const onAbort = () => {
        void this.#cancel(job.key);
        waiter.resolve({ ok: false, phase: 'run', cancelled: true, error: { name: 'AbortError', message: 'run interrupted' }, worker: '', queueWaitMs: 0 });
      };
      const set = this.#waiters.get(job.key) ?? new Set<Waiter>();
      set.add(waiter);
      this.#waiters.set(job.key, set);
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      // attempts 1: a thrown error is never retried (deterministic failures are
      // returned anyway); a lost worker is retried by BullMQ's stalled check.
      // Removed once finished, so a later run re-enqueues instead of reading a stale result.
      this.#queue
        .add('node', { ...job, submitter: this.#id }, { jobId: job.key, attempts: 1, removeOnComplete: true, removeOnFail: true })
        .catch((error: Error) => waiter.resolve(lostOutcome('queue', `could not enqueue the node on ${this.describe}: ${error.message}`)));
    });
  }

  /** Closes the connections; pending waiters are failed. */
  async close(): Promise<void> {
    this.#fail('the run closed its queue connection');
    await Promise.allSettled([this.#events.close(), this.#queue.close()]);
    for (const c of this.#connections) c.disconnect();
  }

  /** Ctrl-C: drop the job if no worker took it yet, else tell the workers to abort it. */
  async #cancel(key: string): Promise<void> {
    if (this.#lost) return;
    try {
      const removed = await this.#queue.remove(key);
      if (removed === 0) await this.#pub.publish(ABORT_CHANNEL, key);
    } catch {
      // Redis gone: the workers lose it too and stop taking jobs.
    }
  }

  #settle(jobId: string, outcome: RemoteOutcome): void {
    for (const w of [...(this.#waiters.get(jobId) ?? [])]) w.resolve(outcome);
  }

  #fail(reason: string): void {
    if (this.#lost) return;
    this.#lost = reason;
    for (const key of [...this.#waiters.keys()]) this.#settle(key, lostOutcome('queue', reason));
  }
}

function lostOutcome(phase: 'queue' | 'worker', message: string): RemoteOutcome {
  const error: SerializedError = { name: 'QueueError', message };
  return { ok: false, phase, error, lost: true };
}
