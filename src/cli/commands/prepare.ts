/**
 * What plan, run and validate share: a registry with the built-ins, the
 * recipe loaded and validated, the graph built, and the cache store opened.
 * Every failure here is a diagnostic (exit 2), printed by the caller.
 */
import { dirname, resolve } from 'node:path';
import { CacheStore, resolveCacheDir } from '../../cache/index.js';
import { StageRegistry } from '../../plugin-registry.js';
import { registerBuiltinLoaders } from '../../data/builtin.js';
import { DatasetRegistry } from '../../data/loader.js';
import { fingerprintData } from '../../plan/data-fingerprints.js';
import { buildGraph } from '../../plan/graph.js';
import type { PlanGraph } from '../../plan/graph.js';
import type { Diagnostic, Result } from '../../recipe/diagnostic.js';
import { loadRecipe } from '../../recipe/load-recipe.js';
import type { ValidatedRecipe } from '../../recipe/types.js';
import { registerBuiltinStages } from '../../stages/builtin.js';
import type { Io } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';

export interface Prepared {
  recipe: ValidatedRecipe;
  graph: PlanGraph;
  registry: StageRegistry;
  loaders: DatasetRegistry;
}

export async function prepare(recipePath: string, set: string[], io: Io): Promise<{ ok: true; value: Prepared } | { ok: false; diagnostics: Diagnostic[] }> {
  const registry = new StageRegistry();
  registerBuiltinStages(registry);
  const loaders = new DatasetRegistry();
  registerBuiltinLoaders(loaders);
  const loaded = await loadRecipe(recipePath, { registry, loaders, overrides: set, cwd: io.cwd });
  if (!loaded.ok) return loaded;
  const graph = buildGraph(loaded.value, registry);
  if (!graph.ok) return graph;
  return { ok: true, value: { recipe: loaded.value, graph: graph.value, registry, loaders } };
}

/** Fingerprints of the recipe's datasets (for cache keys); unreadable data files are diagnostics. */
export async function fingerprints(p: Prepared): Promise<Result<Record<string, string>>> {
  return fingerprintData(p.recipe, p.loaders);
}

export function openStore(flag: string | undefined, recipeFile: string | undefined, io: Io): CacheStore {
  const recipeDir = recipeFile ? dirname(resolve(io.cwd, recipeFile)) : io.cwd;
  const dir = resolveCacheDir({ ...(flag ? { flag: resolve(io.cwd, flag) } : {}), env: io.env, recipeDir });
  return new CacheStore({ dir: resolve(io.cwd, dir) });
}

/** `--jobs`: a positive integer; default the number of cores. */
export function parseJobs(value: string | undefined, cores: number): number | string {
  if (value === undefined) return cores;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) return `--jobs expects a positive integer, got ${JSON.stringify(value)}`;
  return n;
}

/**
 * prepare() plus the datasets' fingerprints, printing diagnostics on failure:
 * what `plan`, `run` and `reproduce` need before they can compute keys.
 * Returns undefined after reporting (the caller exits 2).
 */
export async function prepareWithData(
  recipePath: string,
  set: string[],
  io: Io,
  subject = recipePath,
): Promise<(Prepared & { dataFingerprints: Record<string, string> }) | undefined> {
  const prepared = await prepare(recipePath, set, io);
  if (!prepared.ok) {
    io.err(formatDiagnostics(prepared.diagnostics, subject));
    return undefined;
  }
  const data = await fingerprints(prepared.value);
  if (!data.ok) {
    io.err(formatDiagnostics(data.diagnostics, subject));
    return undefined;
  }
  return { ...prepared.value, dataFingerprints: data.value };
}
