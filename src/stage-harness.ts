/**
 * The stage test harness (`createStageHarness`, offered by `modelpress/plugin`):
 * runs a StageDefinition's schema validation and `run()` in-process with a
 * real StageContext: the real engine (tfjs on a backend, with modelpress's
 * wasm training kernels), the recipe's datasets through the real loader
 * registry, real directories. The same checks the runner makes around a
 * stage (config against the schema with defaults filled in, every declared
 * output returned as a directory) are made here, with the runner's messages.
 *
 * Why it is public: a plugin author should test a stage the way the built-in
 * stages are tested, not against a hand-made `ctx` that drifts from the real
 * one (ESLint exports RuleTester to rule authors for the same reason).
 * Worker threads, the cache and the recipe front end are left out: the CLI
 * and `run()` of the library API cover those paths.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { digestDirectory } from './cache/index.js';
import { registerBuiltinLoaders } from './data/builtin.js';
import { DatasetRegistry } from './data/loader.js';
import { BACKEND_NAMES, chooseBackend } from './engine/backend.js';
import type { BackendName } from './engine/backend.js';
import { createEngine } from './engine/engine.js';
import type { Engine } from './engine/engine.js';
import { formatDiagnostic } from './recipe/format-diagnostic.js';
import type { Diagnostic } from './recipe/diagnostic.js';
import { fromPlain } from './recipe/tree.js';
import { checkStageConfig } from './recipe/validate.js';
import { createDataAccess } from './run/data-access.js';
import type { ArtifactRef, Json, StageContext, StageDefinition, StageInputs, StageProgress, StageResult } from './stage-definition.js';

export interface StageHarnessOptions {
  /** `ctx.seed`, and the seed of `ctx.engine.buildModel`. Default: 1. */
  seed?: number;
  /**
   * The backend `ctx.engine` computes on. Default: the one `run` would
   * choose (tfjs-node when installed, else wasm). Example: 'wasm'.
   */
  backend?: BackendName;
  /**
   * The recipe's `data:` section: what `ctx.data(name)` loads, e.g.
   * `{ train: { uses: 'mnist', split: 'train', limit: 500, flatten: true } }`.
   * Default: no datasets.
   */
  data?: Record<string, Json>;
  /** The recipe's `model:` section, as `ctx.recipe.model`. Default: none. */
  model?: Json;
  /** The recipe's `devices:` section, as `ctx.recipe.devices`. Default: none. */
  devices?: Record<string, Json>;
  /** `ctx.recipeDir`, where relative paths in configs and `data:` resolve. Default: the harness's own temp dir. */
  recipeDir?: string;
}

/** One `ctx.logger` call the harness recorded. */
export interface HarnessLogEntry {
  level: 'debug' | 'info' | 'warn';
  message: string;
  fields?: Record<string, Json>;
}

/** A real StageContext that also records what the stage reported. */
export interface HarnessContext extends StageContext {
  /** Every `ctx.progress(p)` call, in order. */
  readonly progressEvents: StageProgress[];
  /** Every `ctx.logger` call, in order. */
  readonly logs: HarnessLogEntry[];
}

export interface StageHarness {
  /** The harness's temp directory (scratch and output dirs live under it). */
  readonly dir: string;
  /** The engine every context of this harness shares. */
  readonly engine: Engine;
  /** A fresh context for node `node` (default `node1`, `node2`, ...). */
  context(node?: string): HarnessContext;
  /**
   * Checks `config` against the stage's schema and fills in its defaults,
   * as validation does for a recipe's `with:`. Diagnostics are located in the
   * pseudo-file `<with of stage-name>`.
   */
  validate(stage: StageDefinition<any>, config: Record<string, Json>): { ok: true; config: Record<string, Json> } | { ok: false; diagnostics: Diagnostic[] };
  /**
   * validate(), then `stage.run()` in a fresh context, then the runner's
   * output check. Throws StageHarnessError for an invalid config or a missing
   * output; errors thrown by the stage propagate unchanged.
   */
  run(stage: StageDefinition<any>, config: Record<string, Json>, inputs?: StageInputs, node?: string): Promise<StageResult>;
  /** Like run(), in a context you made with context() (to read its logs and progress afterwards). */
  runIn(ctx: HarnessContext, stage: StageDefinition<any>, config: Record<string, Json>, inputs?: StageInputs): Promise<StageResult>;
  /** An ArtifactRef (dir + content digest) for a directory, e.g. a model to hand a stage. */
  artifact(dir: string): Promise<ArtifactRef>;
  /** Removes the temp directory. */
  cleanup(): Promise<void>;
}

/** What the harness throws when a config or a stage's outputs would fail a real run. */
export class StageHarnessError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
    this.name = 'StageHarnessError';
  }
}

export async function createStageHarness(options: StageHarnessOptions = {}): Promise<StageHarness> {
  checkOptions(options);
  const dir = await mkdtemp(join(tmpdir(), 'mp-stage-'));
  const seed = options.seed ?? 1;
  const recipeDir = options.recipeDir !== undefined ? resolve(options.recipeDir) : dir;
  const engine = createEngine(options.backend ?? chooseBackend(), seed);
  const loaders = new DatasetRegistry();
  registerBuiltinLoaders(loaders);
  const dataSpecs = options.data ?? {};
  const data = createDataAccess(dataSpecs, recipeDir, loaders);
  const recipe: StageContext['recipe'] = { ...(options.model !== undefined ? { model: options.model } : {}), data: dataSpecs, devices: options.devices ?? {} };
  let count = 0;

  const context = (node = `node${++count}`): HarnessContext => {
    const scratchDir = join(dir, 'work', node);
    const progressEvents: StageProgress[] = [];
    const logs: HarnessLogEntry[] = [];
    const log = (level: HarnessLogEntry['level']) => (message: string, fields?: Record<string, Json>) => {
      logs.push({ level, message, ...(fields ? { fields } : {}) });
    };
    return {
      node,
      stageId: node.replace(/\[.*$/, ''),
      seed,
      recipeDir,
      recipe,
      scratchDir,
      async outputDir(name: string) {
        const d = join(scratchDir, 'outputs', name);
        await mkdir(d, { recursive: true });
        return d;
      },
      logger: { debug: log('debug'), info: log('info'), warn: log('warn') },
      progress: (p) => progressEvents.push(p),
      signal: new AbortController().signal,
      engine,
      data,
      progressEvents,
      logs,
    };
  };

  const validate: StageHarness['validate'] = (stage, config) => {
    const file = `<with of ${stage.name}>`;
    // Under `with`, so messages name keys as a recipe's do (`with.sparsity`).
    const tree = fromPlain({ with: config }, { file, line: 1, column: 1, sourceLine: '', length: 1 });
    const checked = checkStageConfig(stage.schema, config, tree, ['with']);
    return checked.diagnostics.length === 0 ? { ok: true, config: checked.config } : { ok: false, diagnostics: checked.diagnostics };
  };

  const runIn: StageHarness['runIn'] = async (ctx, stage, config, inputs = { upstream: [] }) => {
    const checked = validate(stage, config);
    if (!checked.ok) {
      const text = checked.diagnostics.map(formatDiagnostic).join('\n');
      throw new StageHarnessError(`stage ${stage.name}: invalid config:\n${text}`, checked.diagnostics);
    }
    await mkdir(ctx.scratchDir, { recursive: true });
    const result = await stage.run(ctx, checked.config, inputs);
    for (const name of stage.outputs) {
      const out = result?.outputs?.[name];
      const isDir = typeof out === 'string' && (await stat(out).then((s) => s.isDirectory(), () => false));
      if (!isDir) {
        // The runner's message (src/run/scheduler.ts), so a test fails the way a run would.
        throw new StageHarnessError(`stage ${stage.name}: output \`${name}\` was declared but ${out === undefined ? 'not returned' : `is not a directory: ${String(out)}`}`);
      }
    }
    return result;
  };

  return {
    dir,
    engine,
    context,
    validate,
    runIn,
    run: (stage, config, inputs, node) => runIn(context(node), stage, config, inputs),
    async artifact(path) {
      return { dir: path, digest: (await digestDirectory(path)).digest };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** `inputs` with one upstream node whose `model` output is `ref` (what a stage after a model-producing stage gets). */
export function modelInput(ref: ArtifactRef, upstream = 'up'): StageInputs {
  return { upstream: [{ node: upstream, stage: upstream, matrix: {}, outputs: { model: ref }, metrics: {} }], model: ref };
}

function checkOptions(o: StageHarnessOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError(`Expected options to be an object, got ${o === null ? 'null' : typeof o}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new TypeError(`Expected \`seed\` to be an integer, got ${JSON.stringify(o.seed)}`);
  if (o.backend !== undefined && !BACKEND_NAMES.includes(o.backend)) {
    throw new TypeError(`Expected \`backend\` to be one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(o.backend)}`);
  }
  if (o.data !== undefined && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) {
    throw new TypeError(`Expected \`data\` to be an object of dataset declarations, got ${Array.isArray(o.data) ? 'an array' : JSON.stringify(o.data)}`);
  }
}
