/**
 * What plan, run and validate share, with the CLI's printing: the recipe
 * loaded, validated and planned by src/api/prepare.ts (the code the library
 * API runs too), and the cache store the flags name. Every failure here is a
 * diagnostic (exit 2), printed by the caller.
 */
import { openCache, prepareRecipe, prepareWithFingerprints } from '../../api/prepare.js';
import type { PreparedRecipe } from '../../api/prepare.js';
import { dirname, resolve } from 'node:path';
import { CACHE_DIR_ENV, findLegacyCache, legacyCacheAdvice } from '../../cache/index.js';
import type { CacheStore } from '../../cache/index.js';
import type { Result } from '../../recipe/diagnostic.js';
import type { Io } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';

export type Prepared = PreparedRecipe;

export async function prepare(recipePath: string, set: string[], io: Io): Promise<Result<Prepared>> {
  return prepareRecipe(recipePath, { set, cwd: io.cwd });
}

/**
 * The cache the flags name (--cache-dir, MODELPRESS_CACHE_DIR, else the
 * project's). When the default is used and an old per-recipe cache sits next
 * to the recipe (or in the working directory), says once on stderr where it
 * is and how to move it: its entries are not read, and a silent miss of
 * everything computed before would look like a bug.
 */
export function openStore(flag: string | undefined, recipeFile: string | undefined, io: Io): CacheStore {
  const store = openCache({ ...(flag ? { cacheDir: flag } : {}), ...(recipeFile ? { recipeFile } : {}), cwd: io.cwd, env: io.env });
  if (!flag && !io.env[CACHE_DIR_ENV]) {
    const recipeDir = recipeFile ? dirname(resolve(io.cwd, recipeFile)) : io.cwd;
    const legacy = findLegacyCache(recipeDir, store.dir);
    if (legacy !== undefined) io.err(`note: ${legacyCacheAdvice(legacy, store.dir)}\n`);
  }
  return store;
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
  const prepared = await prepareWithFingerprints(recipePath, { set, cwd: io.cwd });
  if (!prepared.ok) {
    io.err(formatDiagnostics(prepared.diagnostics, subject));
    return undefined;
  }
  return prepared.value;
}
