/**
 * `modelpress run <recipe>`: execute the recipe, caching every node, and
 * write the run directory (run.json, run.log.jsonl, final artifacts).
 * Ctrl-C (SIGINT) and SIGTERM stop cleanly: running stages are asked to
 * stop, the cache keeps what finished, run.json records the interruption,
 * exit 130 (SIGINT) or 143 (SIGTERM). A run directory that cannot be written
 * (full disk) is a clear error, exit 1.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { BackendName } from '../../engine/backend.js';
import { BACKEND_NAMES, chooseBackend } from '../../engine/backend.js';
import { RunDirError } from '../../run/run-dir-error.js';
import { runRecipe } from '../../run/run-recipe.js';
import type { RemoteExecutor } from '../../run/queue/job-payload.js';
import { checkRedis, parseQueueUrl } from '../../run/queue/redis-connection.js';
import { QueueSubmitter } from '../../run/queue/submitter.js';
import type { RunRecord } from '../../run/run-record.js';
import { budgetOutcomeOf } from '../../contracts/budget-outcome.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { createRunLogger, LOG_LEVELS } from '../logger.js';
import type { LogLevel } from '../logger.js';
import { ProgressRenderer } from '../progress.js';
import { writeReportsAfterRun } from '../after-run-reports.js';
import { runSummaryLines } from '../run-summary.js';
import { openStore, parseJobs, prepareWithData } from './prepare.js';

export interface RunOptions {
  set: string[];
  out?: string;
  jobs?: string;
  cacheDir?: string;
  json: boolean;
  logLevel: string;
  backend?: string;
  workerMemoryMb?: string;
  /** `--queue redis://host:port`: run cache misses on queue workers (docs/distributed.md). */
  queue?: string;
  /** With --queue: how long Redis may be unreachable before the run fails, ms. Default: 10000. */
  redisLostMs?: string;
}

export async function runCommand(recipePath: string, opts: RunOptions, io: Io): Promise<number> {
  const queue = opts.queue === undefined ? undefined : parseQueueUrl(opts.queue);
  // With a queue the workers bound the parallelism: every ready node is enqueued unless --jobs says otherwise.
  const jobs = parseJobs(opts.jobs, queue ? Number.MAX_SAFE_INTEGER : availableParallelism());
  const usage = typeof jobs === 'string' ? jobs : typeof queue === 'string' ? queue : checkOptions(opts);
  if (usage) {
    io.err(`modelpress run: ${usage}\n`);
    return EXIT.invalid;
  }
  const prepared = await prepareWithData(recipePath, opts.set, io);
  if (!prepared) return EXIT.invalid;
  const { recipe, graph, dataFingerprints } = prepared;
  let remote: QueueSubmitter | undefined;
  if (queue !== undefined && typeof queue !== 'string') {
    // Before the run directory exists: an unreachable Redis is an error, not a hang or a failed run.
    const unreachable = await checkRedis(queue);
    if (unreachable) {
      io.err(`modelpress run: ${unreachable}\n`);
      return EXIT.stageFailed;
    }
    remote = await QueueSubmitter.open({ queue, ...(opts.redisLostMs ? { lostAfterMs: Number(opts.redisLostMs) } : {}) });
  }
  const store = openStore(opts.cacheDir, recipePath, io);
  const runDir = resolve(io.cwd, opts.out ?? join('runs', recipe.name, timestamp()));
  let stoppedBy: StopSignal | undefined;
  let result: RunRecord;
  try {
    result = await execute({
      recipe,
      graph,
      store,
      runDir,
      jobs: Math.min(jobs as number, Math.max(1, graph.nodes.length)),
      dataFingerprints,
      opts,
      io,
      onStop: (signal) => (stoppedBy = signal),
      ...(remote ? { remote } : {}),
    });
  } catch (error) {
    if (!(error instanceof RunDirError)) throw error;
    io.err(
      `modelpress run: ${error.message}\n` +
        `  the run ${error.status} and its cache entries are kept; free space or choose another --out and run again (nothing is recomputed)\n`,
    );
    return EXIT.stageFailed;
  } finally {
    await remote?.close();
  }
  if (!opts.json) {
    const showPath = (p: string) => (relative(io.cwd, p).startsWith('..') ? p : relative(io.cwd, p));
    for (const line of runSummaryLines(result, { runDir, showPath })) io.out(`${line}\n`);
  }
  for (const message of budgetMessages(result)) io.out(`budget: ${message}\n`);
  io.out(`run record: ${join(runDir, 'run.json')}\nreport: ${join(runDir, 'report.html')}\n`);
  return stoppedBy === 'SIGTERM' && result.status === 'interrupted' ? EXIT.terminated : exitCodeFor(result);
}

/**
 * Stage failure (1) and interruption (130) come first; a run that otherwise
 * succeeded but has a node reporting `metrics.budgets.met === false` (the
 * evaluate stage; cached nodes keep their metrics) exits 3, after every
 * artifact and report was written.
 */
export function exitCodeFor(record: RunRecord): number {
  if (record.status === 'interrupted') return EXIT.interrupted;
  if (record.status !== 'succeeded') return EXIT.stageFailed;
  return missedBudgets(record).length > 0 ? EXIT.budgetMissed : EXIT.ok;
}

/** Nodes whose budgets are not met (a missed or unstable limit), or whose `budgets` cannot be read. */
function missedBudgets(record: RunRecord): RunRecord['nodes'] {
  return record.nodes.filter((n) => {
    const b = budgetOutcomeOf(n.metrics, n.id);
    return b !== null && ('error' in b || !b.met);
  });
}

/** One line per node that checked budgets: met, or which candidate came closest and what it missed. */
function budgetMessages(record: RunRecord): string[] {
  const out: string[] = [];
  for (const n of record.nodes) {
    const b = budgetOutcomeOf(n.metrics, n.id);
    if (b === null) continue;
    out.push('error' in b ? `MISSED: ${b.error}` : `${b.met ? 'met' : 'MISSED'}: ${b.message}`);
  }
  return out;
}

function checkOptions(opts: RunOptions): string | undefined {
  if (!LOG_LEVELS.includes(opts.logLevel as LogLevel)) return `--log-level expects one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(opts.logLevel)}`;
  if (opts.backend !== undefined && !BACKEND_NAMES.includes(opts.backend as BackendName)) {
    return `--backend expects one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(opts.backend)}`;
  }
  if (opts.redisLostMs !== undefined && !(Number.isInteger(Number(opts.redisLostMs)) && Number(opts.redisLostMs) >= 0)) {
    return `--redis-lost-ms expects an integer >= 0, got ${JSON.stringify(opts.redisLostMs)}`;
  }
  if (opts.workerMemoryMb !== undefined && !(Number.isInteger(Number(opts.workerMemoryMb)) && Number(opts.workerMemoryMb) >= 16)) {
    return `--worker-memory-mb expects an integer >= 16, got ${JSON.stringify(opts.workerMemoryMb)}`;
  }
  return undefined;
}

export interface ExecuteArgs {
  recipe: Parameters<typeof runRecipe>[0]['recipe'];
  graph: Parameters<typeof runRecipe>[0]['graph'];
  store: Parameters<typeof runRecipe>[0]['store'];
  runDir: string;
  jobs: number;
  dataFingerprints: Record<string, string>;
  opts: Pick<RunOptions, 'json' | 'logLevel' | 'backend' | 'workerMemoryMb'>;
  io: Io;
  /** Called with the signal that stopped the run, so the caller can pick the exit code. */
  onStop?: (signal: StopSignal) => void;
  /** `run --queue`: cache misses go to queue workers. */
  remote?: RemoteExecutor;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What a previous run in the same `--out` left that this run writes anew. */
const PREVIOUS_RUN_FILES = ['run.json', 'run.log.jsonl', 'report.md', 'report.html', 'report.png', 'artifacts'];

/**
 * Runs with progress output, a log file and SIGINT/SIGTERM handling; shared
 * with `reproduce`. A reused run directory is emptied of the previous run's
 * record, log, reports and artifacts first: appending to its log (or keeping
 * artifacts of nodes since removed) mixed two runs in one directory.
 */
export async function execute(a: ExecuteArgs): Promise<RunRecord> {
  for (const name of PREVIOUS_RUN_FILES) await rm(join(a.runDir, name), { recursive: true, force: true });
  const level = a.opts.logLevel as LogLevel;
  const logger = createRunLogger({ file: join(a.runDir, 'run.log.jsonl'), json: a.opts.json, level, io: a.io });
  const renderer = a.opts.json ? undefined : new ProgressRenderer(a.io, level);
  const abort = new AbortController();
  // SIGTERM (kill, systemd, Docker, CI timeouts) stops the run like Ctrl-C, so
  // run.json is written; a second signal of either kind forces the exit.
  const stop = (signal: StopSignal) => () => {
    if (abort.signal.aborted) return;
    a.io.err(signal === 'SIGINT' ? '\ninterrupted: stopping running stages (Ctrl-C again to force)\n' : '\nterminated (SIGTERM): stopping running stages (send it again to force)\n');
    a.onStop?.(signal);
    abort.abort();
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
    process.once('SIGTERM', () => process.exit(EXIT.terminated));
  };
  const onSigint = stop('SIGINT');
  const onSigterm = stop('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  try {
    const onEvent = (e: Parameters<Parameters<typeof runRecipe>[0]['onEvent']>[0]) => {
      logger.log(e);
      renderer?.handle(e);
    };
    const { record } = await runRecipe({
      recipe: a.recipe,
      graph: a.graph,
      store: a.store,
      runDir: a.runDir,
      jobs: a.jobs,
      dataFingerprints: a.dataFingerprints,
      backend: chooseBackend(a.opts.backend as BackendName | undefined),
      signal: abort.signal,
      onEvent,
      ...(a.opts.workerMemoryMb ? { workerMemoryMb: Number(a.opts.workerMemoryMb) } : {}),
      ...(a.remote ? { remote: a.remote } : {}),
    });
    await writeReportsAfterRun(a.runDir, record, a.recipe.devices, onEvent);
    return record;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
    renderer?.finish();
    await logger.close();
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
