/**
 * `modelpress worker --queue redis://host:port [--cache-dir DIR] [--jobs N]`:
 * a long-running process that runs the nodes `run --queue` enqueues, on this
 * machine, into the shared cache (docs/distributed.md).
 *
 * Exit codes: 2 for bad options, 1 when Redis cannot be reached at start or is
 * lost for longer than --redis-lost-ms (a supervisor such as systemd restarts
 * it), 0 after SIGINT/SIGTERM: running stages are stopped and their jobs go
 * back to the queue for another worker.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CacheStore, CACHE_DIR_ENV } from '../../cache/index.js';
import { startQueueWorker } from '../../run/queue/queue-worker.js';
import { checkRedis, DEFAULT_REDIS_LOST_MS, parseQueueUrl } from '../../run/queue/redis-connection.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { parseJobs } from './prepare.js';

export interface WorkerOptions {
  queue?: string;
  cacheDir?: string;
  jobs?: string;
  workDir?: string;
  lockMs?: string;
  maxStalled?: string;
  redisLostMs?: string;
  workerMemoryMb?: string;
}

export async function workerCommand(opts: WorkerOptions, io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const usage = (m: string) => {
    io.err(`modelpress worker: ${m}\n`);
    return EXIT.invalid;
  };
  if (opts.queue === undefined) return usage('--queue redis://host:port is required');
  const queue = parseQueueUrl(opts.queue);
  if (typeof queue === 'string') return usage(queue);
  const cacheDir = opts.cacheDir ?? io.env[CACHE_DIR_ENV];
  // No recipe to sit next to: a worker's cache must be named, and must be the submitters' one.
  if (!cacheDir) return usage(`--cache-dir (or ${CACHE_DIR_ENV}) is required: the shared cache every submitter and worker mounts`);
  const jobs = parseJobs(opts.jobs, 1);
  if (typeof jobs === 'string') return usage(jobs);
  const ints: [keyof WorkerOptions, string, number][] = [
    ['lockMs', '--lock-ms', 1000],
    ['maxStalled', '--max-stalled', 1],
    ['redisLostMs', '--redis-lost-ms', 0],
    ['workerMemoryMb', '--worker-memory-mb', 16],
  ];
  for (const [key, flag, min] of ints) {
    const v = opts[key];
    if (v !== undefined && !(Number.isInteger(Number(v)) && Number(v) >= min)) return usage(`${flag} expects an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  const unreachable = await checkRedis(queue);
  if (unreachable) {
    io.err(`modelpress worker: ${unreachable}\n`);
    return EXIT.stageFailed;
  }
  const store = new CacheStore({ dir: resolve(io.cwd, cacheDir) });
  const worker = await startQueueWorker({
    queue,
    store,
    workDir: resolve(io.cwd, opts.workDir ?? join(tmpdir(), `modelpress-worker-${process.pid}`)),
    jobs,
    ...(opts.lockMs ? { lockMs: Number(opts.lockMs) } : {}),
    ...(opts.maxStalled ? { maxStalled: Number(opts.maxStalled) } : {}),
    lostAfterMs: opts.redisLostMs ? Number(opts.redisLostMs) : DEFAULT_REDIS_LOST_MS,
    ...(opts.workerMemoryMb ? { workerMemoryMb: Number(opts.workerMemoryMb) } : {}),
    log: (line) => io.err(`${new Date().toISOString()} ${line}\n`),
  });
  const stopped = new Promise<number>((done) => {
    const stop = (name: string) => () => {
      io.err(`${name}: stopping; running nodes go back to the queue\n`);
      void worker.close().then(() => done(EXIT.ok));
    };
    signals.once('SIGINT', stop('SIGINT'));
    signals.once('SIGTERM', stop('SIGTERM'));
  });
  const lost = worker.lost.then(async (reason) => {
    io.err(`modelpress worker: ${reason}; stopping (nodes it ran are in the cache; a restarted worker goes on)\n`);
    await worker.close().catch(() => undefined);
    return EXIT.stageFailed;
  });
  return Promise.race([stopped, lost]);
}
