/**
 * Executes a plan: each node, once its inputs are done, is looked up in the
 * cache by key; on a miss it runs in a worker thread under p-queue (at most
 * `jobs` at once), and its outputs are stored in the cache. Downstream nodes
 * read their inputs straight from cache entries.
 *
 * A failed node marks everything downstream of it skipped while independent
 * branches finish. An abort (Ctrl-C) stops starting nodes, asks running
 * workers to stop, and leaves the cache consistent: entries are published
 * atomically, so what finished is kept and the next run resumes from it.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { describeOwner } from '../cache/index.js';
import type { CacheEntry, CacheLookup, CacheStore, HeldLock } from '../cache/index.js';
import type { ArtifactRef, Json, StageInputs, UpstreamOutputs } from '../plugin.js';
import type { PlanGraph, PlanNode } from '../plan/graph.js';
import { keyOf, keyRecord } from '../plan/key-record.js';
import type { KeyContext, KeyRecord } from '../plan/key-record.js';
import { reasonsFor } from '../plan/predict.js';
import type { Diagnostic } from '../recipe/diagnostic.js';
import { formatPath } from '../recipe/diagnostic.js';
import { formatDuration } from '../recipe/duration.js';
import { locate } from '../recipe/tree.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import type { EventSink, FailurePhase, NodeStatus, RunStatus } from './events.js';
import { describeCode, environmentCode } from './run-dir-error.js';
import { StageFailure } from './stage-failure.js';
import type { SerializedError } from './stage-failure.js';
import type { WorkerTask } from './worker-protocol.js';
import { runInWorker } from './worker-task.js';
import type { RemoteExecutor } from './queue/job-payload.js';

export interface ExecuteOptions {
  graph: PlanGraph;
  recipe: ValidatedRecipe;
  store: CacheStore;
  /** Names the recipe in the node index (its absolute path). */
  scope: string;
  keys: KeyContext;
  /** Most stages running at once. Example: 2. */
  jobs: number;
  /** Scratch space for running stages (`<runDir>/work`), emptied as nodes finish. */
  workDir: string;
  signal: AbortSignal;
  onEvent: EventSink;
  workerMemoryMb?: number;
  /**
   * Runs cache misses elsewhere (a BullMQ queue, src/run/queue/) instead of
   * in local worker threads. The DAG, the keys and the cache lookups stay
   * here; the executor publishes into the same cache. Default: local threads.
   */
  remote?: RemoteExecutor;
}

export interface NodeResult {
  id: string;
  status: NodeStatus;
  key?: string;
  record?: KeyRecord;
  cacheHit: boolean;
  durationMs: number;
  metrics: Record<string, Json>;
  outputs: Record<string, ArtifactRef>;
  error?: { phase: FailurePhase; message: string; cause?: SerializedError };
  /** For `ran` nodes: why the cache could not be used. */
  reasons?: string[];
  /** For nodes run through a queue: which worker ran it and how long it waited. */
  worker?: { id: string; queueWaitMs: number };
}

export interface ExecuteResult {
  status: RunStatus;
  nodes: NodeResult[];
  durationMs: number;
}

export async function executePlan(opts: ExecuteOptions): Promise<ExecuteResult> {
  const t0 = performance.now();
  const { graph, signal } = opts;
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) throw new TypeError(`Expected jobs to be a positive integer, got ${opts.jobs}`);
  const results = new Map<string, NodeResult>();
  const queue = new PQueue({ concurrency: opts.jobs });
  const dependents = new Map<string, PlanNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) dependents.set(i, [...(dependents.get(i) ?? []), n]);

  const settle = (r: NodeResult) => {
    results.set(r.id, r);
    if (r.status === 'failed' || r.status === 'skipped' || r.status === 'cancelled') skipDownstream(r.id, r.status === 'failed' ? `${r.id} failed` : `${r.id} ${r.status}`);
    else for (const d of dependents.get(r.id) ?? []) maybeEnqueue(d);
  };
  const skipDownstream = (id: string, because: string) => {
    for (const d of dependents.get(id) ?? []) {
      if (results.has(d.id)) continue;
      opts.onEvent({ type: 'node-skipped', node: d.id, because });
      settle(empty(d.id, 'skipped'));
    }
  };
  const maybeEnqueue = (node: PlanNode) => {
    if (results.has(node.id) || queued.has(node.id)) return;
    if (!node.inputs.every((i) => results.get(i)?.status === 'ran' || results.get(i)?.status === 'cached')) return;
    queued.add(node.id);
    void queue.add(async () => {
      const r = signal.aborted ? empty(node.id, 'cancelled') : await runNode(node, results, opts);
      settle(r);
    });
  };
  const queued = new Set<string>();

  opts.onEvent({ type: 'run-started', nodes: graph.nodes.map((n) => n.id), jobs: opts.jobs, runDir: opts.workDir });
  for (const n of graph.nodes) if (n.inputs.length === 0) maybeEnqueue(n);
  await queue.onIdle();
  for (const n of graph.nodes) if (!results.has(n.id)) results.set(n.id, empty(n.id, 'cancelled'));
  await rm(opts.workDir, { recursive: true, force: true });

  const nodes = graph.nodes.map((n) => results.get(n.id)!);
  const status: RunStatus = signal.aborted ? 'interrupted' : nodes.some((n) => n.status !== 'ran' && n.status !== 'cached') ? 'failed' : 'succeeded';
  const durationMs = performance.now() - t0;
  const counts = { ran: 0, cached: 0, failed: 0, skipped: 0, cancelled: 0 } as Record<NodeStatus, number>;
  for (const n of nodes) counts[n.status]++;
  opts.onEvent({ type: 'run-finished', status, counts, durationMs });
  return { status, nodes, durationMs };
}

function empty(id: string, status: NodeStatus): NodeResult {
  return { id, status, cacheHit: false, durationMs: 0, metrics: {}, outputs: {} };
}

async function runNode(node: PlanNode, results: Map<string, NodeResult>, opts: ExecuteOptions): Promise<NodeResult> {
  const t0 = performance.now();
  const upstream = node.inputs.map((id) => results.get(id)!);
  const record = keyRecord(node, upstream.map((u) => Object.fromEntries(Object.entries(u.outputs).map(([k, v]) => [k, v.digest]))), opts.keys);
  const key = keyOf(record);

  const cachedResult = async (entry: CacheEntry): Promise<NodeResult> => {
    await recordNode(node.id, key, opts);
    opts.onEvent({ type: 'node-cached', node: node.id, key });
    return { id: node.id, status: 'cached', key, record, cacheHit: true, durationMs: performance.now() - t0, metrics: entryMetrics(entry), outputs: entryOutputs(entry) };
  };

  let lookup = await opts.store.get(key);
  if (lookup.status === 'hit') return cachedResult(lookup.entry);
  // Cached nodes never reach the queue; the worker takes the key's lock itself.
  if (opts.remote) return runRemote(node, key, record, lookup, upstream, opts, opts.remote, t0, cachedResult);
  // A miss: compute the node only while holding its key's lock, so a concurrent
  // run of the same recipe on this cache waits and takes our entry as a hit.
  let claim: Claim;
  try {
    claim = await claimKey(node.id, key, opts);
  } catch (error) {
    const code = environmentCode(error);
    if (code === undefined) throw error;
    // The lock needs a write: a read-only cache can serve hits but not compute.
    return cacheWriteFailure(node, key, record, code, opts, t0);
  }
  if (claim.status === 'hit') return cachedResult(claim.entry);
  if (claim.status === 'cancelled') return { ...empty(node.id, 'cancelled'), key, record };
  try {
    // Whoever held the lock before us may have published it, or it was published
    // between our lookup and our lock.
    lookup = await opts.store.get(key);
    if (lookup.status === 'hit') return await cachedResult(lookup.entry);
    return await computeNode(node, key, record, lookup, upstream, opts, t0);
  } finally {
    await claim.lock.release();
  }
}

async function computeNode(
  node: PlanNode,
  key: string,
  record: KeyRecord,
  lookup: CacheLookup,
  upstream: NodeResult[],
  opts: ExecuteOptions,
  t0: number,
): Promise<NodeResult> {
  if (lookup.status === 'corrupt') opts.onEvent({ type: 'cache-corrupt', node: node.id, key, reason: lookup.reason });
  const reasons = lookup.status === 'corrupt' ? [`cache entry corrupt: ${lookup.reason}`] : await reasonsFor(opts, node.id, record);
  opts.onEvent({ type: 'node-started', node: node.id, key, reasons });

  const fail = (phase: FailurePhase, cause: SerializedError): NodeResult => {
    const failure = new StageFailure(node.id, node.source, node.def.name, phase, cause);
    const diagnostic = configDiagnostic(node, cause, opts.recipe);
    opts.onEvent({ type: 'node-failed', node: node.id, message: failure.message, phase, cause, ...(diagnostic ? { diagnostic } : {}) });
    return { ...empty(node.id, 'failed'), key, record, durationMs: performance.now() - t0, error: { phase, message: failure.message, cause }, reasons };
  };

  const scratchDir = join(opts.workDir, safeName(node.id));
  await rm(scratchDir, { recursive: true, force: true });
  await mkdir(scratchDir, { recursive: true });
  const outcome = await runInWorker(
    { ...workerTask(node, record, upstream, opts), scratchDir },
    {
      signal: opts.signal,
      ...(opts.workerMemoryMb ? { memoryMb: opts.workerMemoryMb } : {}),
      ...(node.stage.timeoutMs !== undefined ? { timeoutMs: node.stage.timeoutMs, timeoutLabel: timeoutLabel(node.stage.timeoutMs) } : {}),
      onLog: (level, message, fields) => opts.onEvent({ type: 'node-log', node: node.id, level, message, ...(fields ? { fields } : {}) }),
      onProgress: (progress) => opts.onEvent({ type: 'node-progress', node: node.id, progress }),
    },
  );
  if (!outcome.ok) {
    await rm(scratchDir, { recursive: true, force: true });
    if (opts.signal.aborted) return { ...empty(node.id, 'cancelled'), key, record };
    return fail(outcome.phase, outcome.error);
  }

  const outputs = outcome.result.outputs ?? {};
  for (const name of node.def.outputs) {
    const dir = outputs[name];
    const ok = typeof dir === 'string' && (await stat(dir).then((s) => s.isDirectory(), () => false));
    if (!ok) return fail('outputs', { name: 'Error', message: `output \`${name}\` was declared but ${dir === undefined ? 'not returned' : `is not a directory: ${String(dir)}`}` });
  }
  try {
    const entry = await opts.store.put(key, { outputs, result: { metrics: (outcome.result.metrics ?? {}) as Record<string, Json> }, record, node: node.id });
    // Metrics from the published entry, not from our worker: when another writer
    // published this key first (a lock taken over from a frozen holder), run.json
    // must pair the artifact it names with that artifact's own metrics.
    const metrics = entryMetrics(entry);
    await recordNode(node.id, key, opts);
    await rm(scratchDir, { recursive: true, force: true });
    const durationMs = performance.now() - t0;
    opts.onEvent({ type: 'node-finished', node: node.id, durationMs, metrics });
    return { id: node.id, status: 'ran', key, record, cacheHit: false, durationMs, metrics, outputs: entryOutputs(entry), reasons };
  } catch (err) {
    const code = environmentCode(err);
    await rm(scratchDir, { recursive: true, force: true });
    return fail('cache', { name: (err as Error).name, message: code ? cacheWriteMessage(opts, code) : (err as Error).message });
  }
}

/** What a worker needs to run `node`, wherever it runs (the scratch directory is the runner's own). */
function workerTask(node: PlanNode, record: KeyRecord, upstream: NodeResult[], opts: ExecuteOptions): Omit<WorkerTask, 'scratchDir'> {
  return {
    plugins: opts.recipe.plugins,
    recipeDir: opts.recipe.dir,
    uses: node.def.name,
    expect: { version: node.def.version, code: record.stage.code },
    backend: opts.keys.backend as WorkerTask['backend'],
    node: node.id,
    stageId: node.stage.id,
    seed: opts.recipe.seed,
    config: node.config,
    inputs: stageInputs(node, upstream, opts.graph),
    recipe: { ...(opts.recipe.model ? { model: opts.recipe.model as Json } : {}), data: opts.recipe.data as Record<string, Json>, devices: opts.recipe.devices as unknown as Record<string, Json> },
  };
}

/**
 * A cache miss through the queue: enqueue it under its key, stream the
 * worker's logs and progress as this run's events, then read the published
 * entry from the shared cache, so run.json names exactly what is cached.
 */
async function runRemote(
  node: PlanNode,
  key: string,
  record: KeyRecord,
  lookup: CacheLookup,
  upstream: NodeResult[],
  opts: ExecuteOptions,
  remote: RemoteExecutor,
  t0: number,
  cachedResult: (entry: CacheEntry) => Promise<NodeResult>,
): Promise<NodeResult> {
  if (lookup.status === 'corrupt') opts.onEvent({ type: 'cache-corrupt', node: node.id, key, reason: lookup.reason });
  const reasons = lookup.status === 'corrupt' ? [`cache entry corrupt: ${lookup.reason}`] : await reasonsFor(opts, node.id, record);
  opts.onEvent({ type: 'node-started', node: node.id, key, reasons });
  const outcome = await remote.run(
    { key, record, task: workerTask(node, record, upstream, opts), outputs: [...node.def.outputs], submitter: '' },
    {
      signal: opts.signal,
      onUpdate: (u) => {
        if (u.type === 'progress') opts.onEvent({ type: 'node-progress', node: node.id, progress: u.progress });
        else if (u.type === 'log') opts.onEvent({ type: 'node-log', node: node.id, level: u.level, message: u.message, ...(u.fields ? { fields: u.fields } : {}) });
        else opts.onEvent({ type: 'node-log', node: node.id, level: 'info', message: `running on worker ${u.worker} (waited ${u.queueWaitMs} ms in the queue)` });
      },
    },
  );
  const fail = (phase: FailurePhase, cause: SerializedError, worker?: NodeResult['worker']): NodeResult => {
    const failure = new StageFailure(node.id, node.source, node.def.name, phase, cause);
    const diagnostic = configDiagnostic(node, cause, opts.recipe);
    opts.onEvent({ type: 'node-failed', node: node.id, message: failure.message, phase, cause, ...(diagnostic ? { diagnostic } : {}) });
    return { ...empty(node.id, 'failed'), key, record, durationMs: performance.now() - t0, error: { phase, message: failure.message, cause }, reasons, ...(worker ? { worker } : {}) };
  };
  if (!outcome.ok) {
    if (opts.signal.aborted || ('cancelled' in outcome && outcome.cancelled)) return { ...empty(node.id, 'cancelled'), key, record };
    return fail(outcome.phase, outcome.error, 'worker' in outcome && outcome.worker ? { id: outcome.worker, queueWaitMs: outcome.queueWaitMs } : undefined);
  }
  const worker = { id: outcome.worker, queueWaitMs: outcome.queueWaitMs };
  const published = await opts.store.get(key);
  if (published.status !== 'hit') {
    return fail('cache', {
      name: 'Error',
      message:
        `worker ${outcome.worker} published the node into cache ${outcome.cacheDir}, but this run's cache ${opts.store.dir} has ${published.status === 'miss' ? 'no entry' : `a corrupt entry (${published.reason})`} for it: ` +
        'the submitter and every worker must mount the same cache directory (docs/distributed.md)',
    }, worker);
  }
  if (outcome.cached) return { ...(await cachedResult(published.entry)), worker };
  const metrics = entryMetrics(published.entry);
  await recordNode(node.id, key, opts);
  const durationMs = performance.now() - t0;
  opts.onEvent({ type: 'node-finished', node: node.id, durationMs, metrics });
  return { id: node.id, status: 'ran', key, record, cacheHit: false, durationMs, metrics, outputs: entryOutputs(published.entry), reasons, worker };
}

/** Warnings said once per store and code, not once per node. */
const warnedReadOnly = new WeakMap<CacheStore, Set<string>>();

async function recordNode(nodeId: string, key: string, opts: ExecuteOptions): Promise<void> {
  const outcome = await opts.store.recordNode(opts.scope, nodeId, key);
  if (outcome.recorded) return;
  const said = warnedReadOnly.get(opts.store) ?? new Set<string>();
  warnedReadOnly.set(opts.store, said);
  if (said.has(outcome.code)) return;
  said.add(outcome.code);
  opts.onEvent({
    type: 'node-log',
    node: nodeId,
    level: 'warn',
    message: `cache ${opts.store.dir} is ${outcome.code === 'EROFS' ? 'read-only' : 'not writable'} (${outcome.code}): cached results are used, but the record of which key each node last produced is not updated`,
  });
}

function cacheWriteMessage(opts: ExecuteOptions, code: string): string {
  return `cannot store the result in cache ${opts.store.dir}: ${describeCode(code)}; use a writable --cache-dir (docs/cache.md: shared caches)`;
}

function cacheWriteFailure(node: PlanNode, key: string, record: KeyRecord, code: string, opts: ExecuteOptions, t0: number): NodeResult {
  const cause: SerializedError = { name: 'Error', message: cacheWriteMessage(opts, code) };
  const failure = new StageFailure(node.id, node.source, node.def.name, 'cache', cause);
  opts.onEvent({ type: 'node-failed', node: node.id, message: failure.message, phase: 'cache', cause });
  return { ...empty(node.id, 'failed'), key, record, durationMs: performance.now() - t0, error: { phase: 'cache', message: failure.message, cause } };
}

function entryMetrics(entry: CacheEntry): Record<string, Json> {
  return ((entry.result as { metrics?: Record<string, Json> } | undefined)?.metrics ?? {}) as Record<string, Json>;
}

function entryOutputs(entry: CacheEntry): Record<string, ArtifactRef> {
  return Object.fromEntries(Object.entries(entry.outputs).map(([k, v]) => [k, { dir: v.dir, digest: v.digest }]));
}

/** How often a run waiting for another run's node looks for the published entry. */
const WAIT_POLL_MS = 200;

type Claim = { status: 'acquired'; lock: HeldLock } | { status: 'hit'; entry: CacheEntry } | { status: 'cancelled' };

/**
 * Takes the key's lock, or waits while another run holds it: polling the
 * cache, so the wait ends with a hit as soon as the holder publishes, or with
 * the lock when the holder gives up (failure, abort) or dies (stale lock).
 */
async function claimKey(nodeId: string, key: string, opts: ExecuteOptions): Promise<Claim> {
  let announced = false;
  for (;;) {
    if (opts.signal.aborted) return { status: 'cancelled' };
    const attempt = await opts.store.locks.tryAcquire(key);
    if (attempt.status === 'acquired') return attempt;
    if (!announced) {
      announced = true;
      opts.onEvent({ type: 'node-log', node: nodeId, level: 'info', message: `waiting for another run computing ${nodeId} (${describeOwner(attempt.owner)})` });
    }
    await delay(WAIT_POLL_MS, opts.signal);
    const lookup = await opts.store.get(key);
    if (lookup.status === 'hit') return { status: 'hit', entry: lookup.entry };
  }
}

/** Sleeps `ms`, cut short by an abort. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function stageInputs(node: PlanNode, upstream: NodeResult[], graph: PlanGraph): StageInputs {
  const list: UpstreamOutputs[] = upstream.map((u) => {
    const n = graph.byId.get(u.id)!;
    return { node: u.id, stage: n.stage.id, matrix: n.matrix, outputs: u.outputs, metrics: u.metrics };
  });
  const model = list.find((u) => u.outputs.model)?.outputs.model;
  return { upstream: list, ...(model ? { model } : {}) };
}

/**
 * A StageConfigError names a key of the stage's `with:`; point at it in the
 * recipe like a validation error, so "pattern `dense_3` matches no layer"
 * comes with file:line:column and a caret.
 */
function configDiagnostic(node: PlanNode, cause: SerializedError, recipe: ValidatedRecipe): Diagnostic | undefined {
  if (!cause.configPath) return undefined;
  const path = [...node.stage.withPath, ...cause.configPath];
  return {
    code: 'stage-config',
    message: `stage ${node.id}: ${cause.message}`,
    path: formatPath(path),
    loc: locate(recipe.tree, path, { key: typeof cause.configPath.at(-1) === 'string' }),
    ...(cause.hints && cause.hints.length > 0 ? { hints: cause.hints } : {}),
  };
}

/** The limit for messages: `30 min`, `1.5 s`. */
function timeoutLabel(ms: number): string {
  return formatDuration(ms);
}

/** Node ids contain brackets and `=`; keep file names portable. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
