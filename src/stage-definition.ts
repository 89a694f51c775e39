/**
 * What a stage is: the `StageDefinition` object, the `StageContext` the runner
 * hands it, `defineStage` and `StageConfigError`.
 *
 * Built-in stages and the registry import this file, not the public entry
 * `src/plugin.ts` (`modelpress/plugin`): that one also re-exports the
 * training helpers and the stage harness, and a stage importing it would pull
 * all of those into its import closure (and into a cycle through training/).
 *
 * A stage is a plain object made with `defineStage`. It is registered in a
 * registry instance (see plugin-registry.ts); importing a module never
 * registers anything by side effect.
 */
import type { AnySchema } from 'ajv';
import type { Dataset } from './data/dataset.js';
import type { Engine } from './engine/engine.js';

export type { Dataset } from './data/dataset.js';
export type { Engine } from './engine/engine.js';

/** A JSON value, as stored in configs, metrics and run records. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** An artifact on disk: a directory plus the digest of its content. */
export interface ArtifactRef {
  /** Absolute path of the artifact directory (read-only for consumers). */
  dir: string;
  /** `sha256:<hex>` over the directory's files (see cache/digest). */
  digest: string;
}

/** What one upstream node hands to a stage. */
export interface UpstreamOutputs {
  /** Node id, e.g. `prune[sparsity=0.9]`. */
  node: string;
  /** The recipe stage id the node came from, e.g. `prune`. */
  stage: string;
  /** Matrix values of that node (empty when not fanned out). */
  matrix: Record<string, string | number | boolean>;
  outputs: Record<string, ArtifactRef>;
  metrics: Record<string, Json>;
}

export interface StageInputs {
  /** Every upstream node, in `needs` order (all candidates for a fan-in stage). */
  upstream: UpstreamOutputs[];
  /** Convenience: the `model` output of the first upstream that has one. */
  model?: ArtifactRef;
}

export interface StageLogger {
  debug(message: string, fields?: Record<string, Json>): void;
  info(message: string, fields?: Record<string, Json>): void;
  warn(message: string, fields?: Record<string, Json>): void;
}

export interface StageProgress {
  /** Work done so far, in `unit`s (e.g. epochs). */
  done: number;
  total?: number;
  unit?: string;
  message?: string;
  /** `unit`s per second so far, when the stage measures it (passes over examples do). */
  rate?: number;
  /** Seconds left at `rate` until `done` reaches `total`. */
  etaSeconds?: number;
}

/** What the runner hands a stage. Stages never reach into runner internals. */
export interface StageContext {
  /** The node id (`prune[sparsity=0.9]`). */
  node: string;
  /** The recipe's stage id (`prune`). */
  stageId: string;
  /** Recipe seed; use it for every random choice so runs are reproducible. */
  seed: number;
  /** The recipe's directory, for resolving relative paths in the config. */
  recipeDir: string;
  /** The resolved recipe's `data`, `devices` and `model` sections. */
  recipe: { model?: Json; data: Record<string, Json>; devices: Record<string, Json> };
  /** A private, empty directory. Write each output into `outputDir(name)`. */
  scratchDir: string;
  /** Creates (if needed) and returns the directory for output `name`. */
  outputDir(name: string): Promise<string>;
  logger: StageLogger;
  progress(p: StageProgress): void;
  /** Aborted when the run is interrupted; long loops should check it. */
  signal: AbortSignal;
  /** tfjs on the run's backend, model IO and builders. */
  engine: Engine;
  /**
   * Loads a dataset the recipe declares under `data:` by name (memoised per
   * worker). Throws naming the declared datasets when `name` is not one.
   */
  data(name: string): Promise<Dataset>;
}

export interface StageResult {
  /** Output name -> directory written by the stage (usually under ctx.outputDir). */
  outputs: Record<string, string>;
  metrics?: Record<string, Json>;
}

export interface StageDefinition<Config = Record<string, Json>> {
  /** The `uses:` name. Lowercase, dashes allowed; `scope/name` for plugin families. */
  name: string;
  /** Bump when the stage's behaviour changes: it enters the cache key. */
  version: string;
  description?: string;
  /** JSON Schema (2020-12) for `with:`. Defaults in it are applied before the stage runs. */
  schema?: AnySchema;
  /** Output names this stage produces, e.g. ['model']. */
  outputs: readonly string[];
  /**
   * true: this stage takes every candidate of a fanned-out upstream stage at
   * once (e.g. `select`) instead of fanning out along with it.
   */
  fanIn?: boolean;
  /**
   * Files or directories (relative to the recipe) this node reads besides
   * its inputs, e.g. a teacher model given by path. Their content digests
   * enter the node's cache key, so editing them re-runs the node.
   */
  fileInputs?(config: Config): string[];
  /**
   * Sections of the recipe this stage reads through `ctx.recipe` (beyond its
   * own config); they enter its cache key. E.g. evaluate reads `devices`.
   */
  recipeInputs?: readonly ('devices' | 'model')[];
  /**
   * Which `with:` keys name datasets this config reads, as key paths (after
   * defaults), e.g. `[['data'], ['validation', 'data']]`. Return only what
   * the stage will actually read with this config (a `finetune.data` default
   * matters only when fine-tuning is on). `validate` checks every name
   * against the recipe's `data:`, so an undeclared one fails before anything
   * runs instead of when this stage starts. Default: none.
   */
  datasets?(config: Config): readonly (readonly (string | number)[])[];
  /**
   * What this stage requires of the stages in its `needs:`, checked by
   * `validate` before anything runs (e.g. select needs an evaluate node and
   * the candidates' stage). `upstream` lists each stage in `needs:` (or the
   * default upstream) by id and `uses`. Return one problem per finding, its
   * `path` relative to the stage entry (`['needs']`, `['with', 'evaluate']`).
   * Not called for matrix stages (their config is per combination). Default: none.
   */
  checkUpstream?(config: Config, upstream: readonly UpstreamStage[]): readonly UpstreamProblem[];
  run(ctx: StageContext, config: Config, inputs: StageInputs): Promise<StageResult>;
}

/** A stage in another stage's `needs:`, as `validate` knows it. */
export interface UpstreamStage {
  id: string;
  /** The stage's type (`evaluate`, `prune`, a plugin's name). */
  uses: string;
}

/** A problem `checkUpstream` found, located by `path` relative to the stage entry. */
export interface UpstreamProblem {
  message: string;
  path: (string | number)[];
  hints?: string[];
}

/**
 * Thrown by a stage when its `with:` config cannot apply to its inputs (a
 * layer pattern matching no layer, a structure that cannot be cut). `path` is
 * relative to `with:`; the runner turns it into a located recipe error
 * (file:line:column of that key), instead of a bare stack trace.
 */
export class StageConfigError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
    readonly hints: string[] = [],
  ) {
    super(message);
    this.name = 'StageConfigError';
  }
}

const NAME = /^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)?$/;

/**
 * Checks a stage definition's shape and returns it unchanged (typed). Throws a
 * TypeError naming the problem: this runs when a plugin is loaded, where a
 * mistake is the plugin author's bug.
 */
export function defineStage<Config = Record<string, Json>>(def: StageDefinition<Config>): StageDefinition<Config> {
  const d = def as Partial<StageDefinition<Config>> | undefined;
  const label = typeof d?.name === 'string' ? `stage \`${d.name}\`` : 'stage';
  if (d === null || typeof d !== 'object') throw new TypeError(`Expected a stage definition object, got ${typeof d}`);
  if (typeof d.name !== 'string' || !NAME.test(d.name)) {
    throw new TypeError(`Expected ${label} name to be lowercase letters, digits and dashes (optionally scope/name), got ${JSON.stringify(d.name)}`);
  }
  if (typeof d.version !== 'string' || d.version === '') {
    throw new TypeError(`Expected ${label} version to be a non-empty string, got ${JSON.stringify(d.version)}`);
  }
  if (!Array.isArray(d.outputs) || d.outputs.some((o) => typeof o !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(o))) {
    throw new TypeError(`Expected ${label} outputs to be a list of lowercase names, got ${JSON.stringify(d.outputs)}`);
  }
  if (typeof d.run !== 'function') throw new TypeError(`Expected ${label} run to be a function, got ${typeof d.run}`);
  if (d.datasets !== undefined && typeof d.datasets !== 'function') throw new TypeError(`Expected ${label} datasets to be a function, got ${typeof d.datasets}`);
  if (d.schema !== undefined && typeof d.schema !== 'object' && typeof d.schema !== 'boolean') {
    throw new TypeError(`Expected ${label} schema to be a JSON Schema object, got ${typeof d.schema}`);
  }
  return def;
}
