/**
 * `run()` of the library API: execute a recipe, every node cached by
 * content, independent stages in parallel worker threads, and return the run
 * record. The same `runRecipe` the CLI's `modelpress run` calls; the CLI adds
 * only what belongs to a terminal (progress lines, the log file, Ctrl-C).
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { chooseBackend } from '../engine/backend.js';
import type { BackendName } from '../engine/backend.js';
import type { Result } from '../recipe/diagnostic.js';
import type { EventSink } from '../run/events.js';
import { runRecipe } from '../run/run-recipe.js';
import type { RunRecord } from '../run/run-record.js';
import { expectBackend, expectFunction, expectInteger, expectObject, expectSignal, expectString, expectStrings } from './options.js';
import { openCache, prepareWithFingerprints } from './prepare.js';
import type { PrepareOptions } from './prepare.js';

export interface RunOptions extends PrepareOptions {
  /** The run directory to create and fill (run.json, artifacts/). Default: `runs/<recipe name>/<timestamp>` under `cwd`. */
  out?: string;
  /** Cache directory. Default: `$MODELPRESS_CACHE_DIR`, else the project's `node_modules/.cache/modelpress` (nearest package.json), else `.modelpress/cache` next to the recipe. */
  cacheDir?: string;
  /** Most stages running at once. Default: the number of cores. */
  jobs?: number;
  /** The tfjs backend stages compute on (part of every key). Default: tfjs-node when installed, else wasm. */
  backend?: BackendName;
  /** Abort it to interrupt: no new node starts, running stages are asked to stop; the record says `interrupted`. Default: none. */
  signal?: AbortSignal;
  /** Receives every typed event (node started, progress, log, finished, failed...). Default: events are dropped. */
  onEvent?: EventSink;
  /** Heap limit of each stage worker, in MB (>= 16). Default: Node's. */
  workerMemoryMb?: number;
  /** Environment read for `MODELPRESS_CACHE_DIR`. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface RunOutcome {
  /** What run.json holds: status, every node's status, key, metrics and outputs, the artifacts copied. */
  record: RunRecord;
  /** Absolute path of the run directory. */
  runDir: string;
}

/**
 * Runs the recipe at `recipePath`. An invalid recipe (or unreadable data) is
 * `{ ok: false, diagnostics }` and nothing runs; otherwise `{ ok: true }`
 * with the record, whatever the run's status (`succeeded`, `failed` with the
 * failed nodes' errors, `interrupted`): a failed stage is an outcome, not an
 * exception. Throws a TypeError for a bad option.
 */
export async function run(recipePath: string, options: RunOptions = {}): Promise<Result<RunOutcome>> {
  checkRunOptions(recipePath, options);
  const cwd = options.cwd ?? process.cwd();
  const prepared = await prepareWithFingerprints(recipePath, { ...options, cwd });
  if (!prepared.ok) return prepared;
  const { recipe, graph, dataFingerprints } = prepared.value;
  const store = openCache({ ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}), recipeFile: recipePath, cwd, env: options.env ?? process.env });
  const runDir = resolve(cwd, options.out ?? join('runs', recipe.name, new Date().toISOString().replace(/[:.]/g, '-')));
  const { record } = await runRecipe({
    recipe,
    graph,
    store,
    runDir,
    jobs: options.jobs ?? availableParallelism(),
    dataFingerprints,
    backend: chooseBackend(options.backend),
    signal: options.signal ?? new AbortController().signal,
    onEvent: options.onEvent ?? (() => {}),
    ...(options.workerMemoryMb !== undefined ? { workerMemoryMb: options.workerMemoryMb } : {}),
  });
  return { ok: true, value: { record, runDir } };
}

function checkRunOptions(recipePath: string, o: RunOptions): void {
  expectString('recipePath', recipePath);
  expectObject('options', o);
  expectStrings('set', o.set);
  expectString('cwd', o.cwd);
  expectString('out', o.out);
  expectString('cacheDir', o.cacheDir);
  expectInteger('jobs', o.jobs, 1);
  expectBackend(o.backend);
  expectSignal(o.signal);
  expectFunction('onEvent', o.onEvent);
  expectInteger('workerMemoryMb', o.workerMemoryMb, 16);
}
