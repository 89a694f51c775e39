/**
 * One run of a validated recipe: execute the plan, copy the final nodes'
 * artifacts into the run directory, write run.json. Shared by `run` and
 * `reproduce`. Reports (report.md/html, the browser check) are the CLI's
 * business (src/cli/after-run-reports.ts): src/run does not import src/report.
 */
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheStore } from '../cache/index.js';
import { PACKAGE_VERSION } from '../package-info.js';
import { installedVersion } from '../engine/backend.js';
import type { PlanGraph } from '../plan/graph.js';
import { buildKeyContext } from '../plan/key-context.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import { writeFileAtomic } from './atomic-write.js';
import type { EventSink, RunStatus } from './events.js';
import { environmentCode, RunDirError } from './run-dir-error.js';
import type { RunRecord } from './run-record.js';
import { RUN_RECORD_VERSION } from './run-record.js';
import { executePlan, safeName } from './scheduler.js';
import { createWorkDir, sweepStaleWorkDirs } from './work-dir.js';
import type { ExecuteResult } from './scheduler.js';
import type { RemoteExecutor } from './queue/job-payload.js';

export interface RunRecipeOptions {
  recipe: ValidatedRecipe;
  graph: PlanGraph;
  store: CacheStore;
  /** The run directory to create and fill. Example: runs/quickstart/2026-11-28T01-02-03Z. */
  runDir: string;
  jobs: number;
  backend: string;
  /** Dataset name -> content fingerprint, computed before the run (they enter every key). */
  dataFingerprints: Record<string, string>;
  signal: AbortSignal;
  onEvent: EventSink;
  workerMemoryMb?: number;
  /** Run cache misses through a queue (src/run/queue/) instead of local worker threads. */
  remote?: RemoteExecutor;
}

export async function runRecipe(opts: RunRecipeOptions): Promise<{ record: RunRecord; result: ExecuteResult }> {
  const startedAt = new Date();
  await mkdir(opts.runDir, { recursive: true });
  const keys = await buildKeyContext(opts.recipe, opts.backend, opts.dataFingerprints, opts.graph);
  await sweepStaleWorkDirs(opts.runDir);
  const workDir = await createWorkDir(opts.runDir);
  const result = await executePlan({
    graph: opts.graph,
    recipe: opts.recipe,
    store: opts.store,
    scope: opts.recipe.file,
    keys,
    jobs: opts.jobs,
    workDir,
    signal: opts.signal,
    onEvent: opts.onEvent,
    ...(opts.workerMemoryMb ? { workerMemoryMb: opts.workerMemoryMb } : {}),
    ...(opts.remote ? { remote: opts.remote } : {}),
  });

  // Copies, not links: the run directory must stay valid after `cache gc`.
  const artifacts: RunRecord['artifacts'] = {};
  for (const id of opts.graph.sinks) {
    const r = result.nodes.find((n) => n.id === id);
    if (!r || (r.status !== 'ran' && r.status !== 'cached')) continue;
    for (const [name, ref] of Object.entries(r.outputs)) {
      const rel = join('artifacts', safeName(id), name);
      await intoRunDir(join(opts.runDir, rel), result.status, () => cp(ref.dir, join(opts.runDir, rel), { recursive: true }));
      (artifacts[id] ??= {})[name] = rel;
    }
  }

  const record: RunRecord = {
    runRecordVersion: RUN_RECORD_VERSION,
    status: result.status,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(result.durationMs),
    recipe: {
      file: opts.recipe.file,
      name: opts.recipe.name,
      sources: opts.recipe.sources,
      overrides: opts.recipe.overrides,
      resolved: opts.recipe.resolved,
    },
    versions: { modelpress: PACKAGE_VERSION, node: process.version, tfjs: installedVersion('@tensorflow/tfjs') ?? null, backend: opts.backend },
    cacheDir: opts.store.dir,
    jobs: opts.jobs,
    ...(opts.remote ? { queue: opts.remote.describe } : {}),
    nodes: result.nodes.map((r) => {
      const node = opts.graph.byId.get(r.id)!;
      return {
        id: r.id,
        stage: node.stage.id,
        uses: node.def.name,
        plugin: node.source,
        matrix: node.matrix,
        inputs: node.inputs,
        config: node.config,
        key: r.key ?? null,
        keyRecord: r.record ?? null,
        status: r.status,
        cacheHit: r.cacheHit,
        durationMs: Math.round(r.durationMs),
        reasons: r.reasons ?? [],
        metrics: r.metrics,
        outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, { path: v.dir, digest: v.digest }])),
        // Keep the thrown error and its cause chain: without it the root cause
        // (`new Error(msg, { cause })` in a plugin) was lost from the record.
        ...(r.worker ? { worker: r.worker } : {}),
        error: r.error ? { phase: r.error.phase, message: r.error.message, ...(r.error.cause ? { cause: r.error.cause } : {}) } : null,
      };
    }),
    artifacts,
  };
  const recordFile = join(opts.runDir, 'run.json');
  await intoRunDir(recordFile, result.status, () => writeFileAtomic(recordFile, `${JSON.stringify(record, null, 2)}\n`));
  return { record, result };
}

/** Runs a write into the run directory; a full or protected disk becomes a RunDirError naming `file`. */
async function intoRunDir(file: string, status: RunStatus, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    const code = environmentCode(error);
    if (code === undefined) throw error;
    throw new RunDirError(file, code, status, { cause: error });
  }
}
