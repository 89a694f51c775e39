/**
 * What plan, run and validate share, with the CLI's printing: the recipe
 * loaded, validated and planned by src/api/prepare.ts (the code the library
 * API runs too), and the cache store the flags name. Every failure here is a
 * diagnostic (exit 2), printed by the caller.
 */
import { openCache, prepareRecipe, prepareWithFingerprints } from '../../api/prepare.js';
import type { PreparedRecipe } from '../../api/prepare.js';
import type { CacheStore } from '../../cache/index.js';
import type { Result } from '../../recipe/diagnostic.js';
import type { Io } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';

export type Prepared = PreparedRecipe;

export async function prepare(recipePath: string, set: string[], io: Io): Promise<Result<Prepared>> {
  return prepareRecipe(recipePath, { set, cwd: io.cwd });
}

export function openStore(flag: string | undefined, recipeFile: string | undefined, io: Io): CacheStore {
  return openCache({ ...(flag ? { cacheDir: flag } : {}), ...(recipeFile ? { recipeFile } : {}), cwd: io.cwd, env: io.env });
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
