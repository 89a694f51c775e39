import path from 'node:path';

/** Environment variable that overrides the default cache location. */
export const CACHE_DIR_ENV = 'MODELPRESS_CACHE_DIR';

export interface ResolveCacheDirOptions {
  /** Value of `--cache-dir`, if given. Example: `/mnt/fast/modelpress-cache`. */
  flag?: string;
  /** Environment to read `MODELPRESS_CACHE_DIR` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory holding the recipe; the cache defaults to `<recipeDir>/.modelpress/cache`. */
  recipeDir: string;
}

/**
 * Picks the cache directory: `--cache-dir`, then `MODELPRESS_CACHE_DIR`, then
 * `<recipeDir>/.modelpress/cache`. The default sits next to the recipe so that
 * running the same recipe from any working directory finds the same cache.
 * Empty values count as unset, because `MODELPRESS_CACHE_DIR= cmd` is how a
 * shell user clears a variable. Relative values resolve against the working
 * directory, as any path typed on a command line does.
 */
export function resolveCacheDir({ flag, env = process.env, recipeDir }: ResolveCacheDirOptions): string {
  if (flag) return path.resolve(flag);
  const fromEnv = env[CACHE_DIR_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  return path.resolve(recipeDir, '.modelpress', 'cache');
}
