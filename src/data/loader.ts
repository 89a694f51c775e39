/**
 * Dataset loaders and their registry.
 *
 * A recipe's `data:` maps names to `{ uses: <loader>, ...options }`. A loader
 * is a plain object, like a stage: a name, a JSON Schema (2020-12) for its
 * options, `load`, and a cheap `fingerprint` that identifies the content
 * without loading it (planning needs every fingerprint for cache keys before
 * anything runs). Loaders live in a registry instance built by the
 * composition root; nothing registers itself on import.
 */
import type { AnySchema, ErrorObject } from 'ajv';
import { compileSchema } from '../recipe/ajv.js';
import type { Dataset } from './dataset.js';
import type { DatasetDescription } from './describe.js';
import type { FileHashCache } from './file-hash.js';

export interface LoadContext {
  /** The recipe's directory: relative paths in options resolve against it. */
  baseDir: string;
  /** The dataset's name in the recipe (`train`); names the returned Dataset. */
  name?: string;
  /** File-hash memo to use (default: the process-wide one). Tests pass a fresh one. */
  hashes?: FileHashCache;
  /**
   * Where a loader may keep data derived from the files (the `images` loader's
   * decoded images). Only a speed-up: the loader must give the same dataset
   * without it; each loader uses a sub-folder named after itself. Default:
   * `<cache dir>/data`, the cache dir found as `modelpress run` finds it
   * without `--cache-dir` (MODELPRESS_CACHE_DIR, else next to the recipe).
   */
  cacheDir?: string;
}

export interface DatasetLoader<Options = Record<string, unknown>> {
  /** The `uses:` name: lowercase letters, digits and dashes. */
  name: string;
  /** Bump when the loader's output changes for the same files and options: it enters fingerprints. */
  version: string;
  /** One line for `modelpress` help and docs. */
  description: string;
  /**
   * JSON Schema (2020-12) for the options other than `uses`:
   * `additionalProperties: false`, every option with a description and (unless
   * absence means something) a default. Defaults are applied before `load`.
   */
  schema: AnySchema;
  /**
   * Options whose values are file paths (relative to the recipe), e.g.
   * `['file']`: `validate` reports a missing one, located at the option,
   * before anything runs. Default: none.
   */
  fileOptions?: readonly string[];
  /** Reads the data. Bad files throw DataError; `options` may omit defaulted keys. */
  load(options: Options, ctx: LoadContext): Promise<Dataset>;
  /**
   * `sha256:...` identity of what `load` would return, from file hashes and
   * options (no parsing). Equals `load(...).fingerprint`.
   */
  fingerprint(options: Options, ctx: LoadContext): Promise<string>;
  /**
   * Optional: the example shape, class count and size of what `load` would
   * return, cheaply (headers and labels, not the features). `validate` uses
   * it to infer a model's `inputShape`/`classes` and to check a dataset
   * against the model it is fed to. Must agree with `load` (same shape,
   * classes, count) and throw the same DataErrors for bad labels. Without
   * it, validation loads the dataset instead.
   */
  describe?(options: Options, ctx: LoadContext): Promise<DatasetDescription>;
}

/** A recipe's dataset entry: the loader name plus its options. */
export interface DatasetEntry {
  uses: string;
  [option: string]: unknown;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Checks a loader definition's shape and returns it unchanged (typed). Throws
 * a TypeError naming the problem: a malformed loader is its author's bug.
 */
export function defineLoader<Options>(def: DatasetLoader<Options>): DatasetLoader<Options> {
  const d = def as Partial<DatasetLoader<Options>> | undefined;
  if (d === null || typeof d !== 'object') throw new TypeError(`Expected a dataset loader object, got ${d === null ? 'null' : typeof d}`);
  const label = typeof d.name === 'string' ? `loader \`${d.name}\`` : 'loader';
  if (typeof d.name !== 'string' || !NAME.test(d.name)) {
    throw new TypeError(`Expected ${label} name to be lowercase letters, digits and dashes, got ${JSON.stringify(d.name)}`);
  }
  if (typeof d.version !== 'string' || d.version === '') {
    throw new TypeError(`Expected ${label} version to be a non-empty string, got ${JSON.stringify(d.version)}`);
  }
  if (typeof d.description !== 'string') throw new TypeError(`Expected ${label} description to be a string, got ${typeof d.description}`);
  if (typeof d.schema !== 'object' || d.schema === null) {
    throw new TypeError(`Expected ${label} schema to be a JSON Schema object, got ${d.schema === null ? 'null' : typeof d.schema}`);
  }
  for (const fn of ['load', 'fingerprint'] as const) {
    if (typeof d[fn] !== 'function') throw new TypeError(`Expected ${label} ${fn} to be a function, got ${typeof d[fn]}`);
  }
  if (d.describe !== undefined && typeof d.describe !== 'function') throw new TypeError(`Expected ${label} describe to be a function, got ${typeof d.describe}`);
  return def;
}

/**
 * Validates `options` against the loader's schema and returns a copy with
 * defaults filled in. The recipe validator normally reports bad options first
 * (with YAML locations); this guards direct callers, so a bad option is a
 * TypeError ("Expected ...") rather than a confusing failure deep in a parser.
 */
export function resolveLoaderOptions<T>(loader: Pick<DatasetLoader<unknown>, 'name' | 'schema'>, options: unknown): T {
  // ajv's useDefaults writes into the object it validates: never the caller's.
  const copy: unknown = options === undefined ? {} : structuredClone(options);
  const validate = compileSchema(loader.schema);
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map(describeAjvError).join('; ');
    throw new TypeError(`Expected valid options for dataset loader \`${loader.name}\`: ${problems}`);
  }
  return copy as T;
}

function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'options' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'additionalProperties') {
    return `${where} has unknown key \`${String((e.params as { additionalProperty: string }).additionalProperty)}\``;
  }
  if (e.keyword === 'enum') {
    return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Read-only view for the validator and planner. */
export interface LoaderCatalog {
  get(name: string): DatasetLoader<any> | undefined;
  names(): string[];
}

export class DatasetRegistry implements LoaderCatalog {
  private readonly loaders = new Map<string, { loader: DatasetLoader<any>; source: string }>();

  /**
   * Registers a loader. A malformed definition, a duplicate name or a schema
   * ajv cannot compile is an error naming the source (`builtin`, a plugin).
   */
  register(loader: DatasetLoader<any>, source = 'builtin'): void {
    try {
      defineLoader(loader);
    } catch (err) {
      throw new TypeError(`${source}: ${(err as Error).message}`, { cause: err });
    }
    const prev = this.loaders.get(loader.name);
    if (prev) {
      const owner = prev.source === 'builtin' ? 'is built in' : `is already registered by ${prev.source}`;
      throw new Error(`${source}: registers dataset loader \`${loader.name}\`, which ${owner}; loader names must be unique`);
    }
    try {
      compileSchema(loader.schema);
    } catch (err) {
      throw new Error(`${source}: the options schema of dataset loader \`${loader.name}\` does not compile: ${(err as Error).message}`, { cause: err });
    }
    this.loaders.set(loader.name, { loader, source });
  }

  get(name: string): DatasetLoader<any> | undefined {
    return this.loaders.get(name)?.loader;
  }

  /** Where a loader came from (`builtin` or a plugin), for messages and run records. */
  sourceOf(name: string): string | undefined {
    return this.loaders.get(name)?.source;
  }

  names(): string[] {
    return [...this.loaders.keys()].sort();
  }

  /** Loads a recipe dataset entry (`{ uses, ...options }`). */
  async load(entry: DatasetEntry, ctx: LoadContext): Promise<Dataset> {
    const { uses, ...options } = entry;
    return this.require(uses).load(options, ctx);
  }

  /** Fingerprints a recipe dataset entry without loading it. */
  async fingerprint(entry: DatasetEntry, ctx: LoadContext): Promise<string> {
    const { uses, ...options } = entry;
    return this.require(uses).fingerprint(options, ctx);
  }

  private require(name: string): DatasetLoader<any> {
    const loader = this.get(name);
    if (!loader) {
      throw new Error(`unknown dataset loader \`${name}\`; available: ${this.names().join(', ') || '(none registered)'}`);
    }
    return loader;
  }
}
