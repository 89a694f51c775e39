/**
 * The front half every entry point shares (CLI `validate`/`plan`/`run`/
 * `reproduce` and the library API): a stage registry with the built-ins,
 * dataset loaders, the recipe resolved, its plugins loaded, validated, the
 * graph built; then the datasets' fingerprints; and the cache store the
 * options name. Every expected failure is a Diagnostic in a Result.
 */
import { dirname, resolve } from 'node:path';
import { CacheStore, resolveCacheDir } from '../cache/index.js';
import { registerBuiltinLoaders } from '../data/builtin.js';
import { DatasetRegistry } from '../data/loader.js';
import { fingerprintData } from '../plan/data-fingerprints.js';
import { buildGraph } from '../plan/graph.js';
import type { PlanGraph } from '../plan/graph.js';
import { StageRegistry } from '../plugin-registry.js';
import type { Result } from '../recipe/diagnostic.js';
import { loadRecipe } from '../recipe/load-recipe.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import { registerBuiltinStages } from '../stages/builtin.js';

export interface PrepareOptions {
  /** `path=value` overrides, applied like `--set`. Default: none. Example: `['stages.prune.with.sparsity=0.9']`. */
  set?: readonly string[];
  /** Directory relative paths (the recipe, `cacheDir`, `out`) resolve against. Default: `process.cwd()`. */
  cwd?: string;
}

export interface PreparedRecipe {
  recipe: ValidatedRecipe;
  graph: PlanGraph;
  registry: StageRegistry;
  loaders: DatasetRegistry;
}

export async function prepareRecipe(recipePath: string, opts: PrepareOptions = {}): Promise<Result<PreparedRecipe>> {
  const registry = new StageRegistry();
  registerBuiltinStages(registry);
  const loaders = new DatasetRegistry();
  registerBuiltinLoaders(loaders);
  const loaded = await loadRecipe(recipePath, { registry, loaders, overrides: [...(opts.set ?? [])], cwd: opts.cwd ?? process.cwd() });
  if (!loaded.ok) return loaded;
  const graph = buildGraph(loaded.value, registry);
  if (!graph.ok) return graph;
  return { ok: true, value: { recipe: loaded.value, graph: graph.value, registry, loaders } };
}

/** prepareRecipe() plus the datasets' fingerprints (they enter every cache key); unreadable data is a diagnostic. */
export async function prepareWithFingerprints(
  recipePath: string,
  opts: PrepareOptions = {},
): Promise<Result<PreparedRecipe & { dataFingerprints: Record<string, string> }>> {
  const prepared = await prepareRecipe(recipePath, opts);
  if (!prepared.ok) return prepared;
  const data = await fingerprintData(prepared.value.recipe, prepared.value.loaders);
  if (!data.ok) return data;
  return { ok: true, value: { ...prepared.value, dataFingerprints: data.value } };
}

export interface OpenCacheOptions {
  /** An explicit cache directory (`--cache-dir`). Default: `$MODELPRESS_CACHE_DIR`, else the project's `node_modules/.cache/modelpress` (nearest package.json), else `.modelpress/cache` next to the recipe. */
  cacheDir?: string;
  /** The recipe whose directory holds the default cache. Default: none (then `cwd`). */
  recipeFile?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function openCache(o: OpenCacheOptions): CacheStore {
  const recipeDir = o.recipeFile ? dirname(resolve(o.cwd, o.recipeFile)) : o.cwd;
  const dir = resolveCacheDir({ ...(o.cacheDir ? { flag: resolve(o.cwd, o.cacheDir) } : {}), env: o.env, recipeDir });
  return new CacheStore({ dir: resolve(o.cwd, dir) });
}
