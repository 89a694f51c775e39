import { existsSync } from 'node:fs';
import path from 'node:path';

/** Environment variable that overrides the default cache location. */
export const CACHE_DIR_ENV = 'MODELPRESS_CACHE_DIR';

/** The cache's folder under the project's `node_modules/.cache`, where babel, eslint and webpack keep theirs. */
export const PROJECT_CACHE_SUBDIR = path.join('node_modules', '.cache', 'modelpress');

/** The per-recipe location of modelpress before the project cache: `<recipe dir>/.modelpress/cache`. */
export const LEGACY_CACHE_SUBDIR = path.join('.modelpress', 'cache');

export interface ResolveCacheDirOptions {
  /** Value of `--cache-dir`, if given. Example: `/mnt/fast/modelpress-cache`. */
  flag?: string;
  /** Environment to read `MODELPRESS_CACHE_DIR` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where the search for the project starts: the directory holding the
   * recipe, or the working directory for `cache ls`. Example: `compress/`.
   */
  recipeDir: string;
  /** Tells whether a path exists; tests pass a fake file system. Default: `fs.existsSync`. */
  exists?: (file: string) => boolean;
}

/**
 * The project a directory belongs to: the nearest directory at or above it
 * holding a package.json (the way npm, eslint and find-cache-dir find the
 * project), or undefined outside any package.
 */
export function findProjectRoot(start: string, exists: (file: string) => boolean = existsSync): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (exists(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Picks the cache directory: `--cache-dir`, then `MODELPRESS_CACHE_DIR`, then
 * the project's `node_modules/.cache/modelpress` (the nearest package.json at
 * or above `recipeDir`), else `<recipeDir>/.modelpress/cache` outside any
 * package. One cache per project, so every recipe of a repository shares
 * entries (two recipes starting from the same model and stages compute them
 * once) and `cache ls`/`gc`/`explain` see them from any sub-folder. Under
 * node_modules/.cache because it is ignored by every project's VCS already
 * and is where JavaScript tools look for caches; `npm ci` deletes it with
 * node_modules, which costs a recomputation, never a wrong result.
 * Empty values count as unset, because `MODELPRESS_CACHE_DIR= cmd` is how a
 * shell user clears a variable. Relative values resolve against the working
 * directory, as any path typed on a command line does.
 */
export function resolveCacheDir({ flag, env = process.env, recipeDir, exists = existsSync }: ResolveCacheDirOptions): string {
  if (flag) return path.resolve(flag);
  const fromEnv = env[CACHE_DIR_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  const project = findProjectRoot(recipeDir, exists);
  if (project !== undefined) return path.join(project, PROJECT_CACHE_SUBDIR);
  return path.resolve(recipeDir, LEGACY_CACHE_SUBDIR);
}

/**
 * A cache left in the old per-recipe location that the resolved cache is not:
 * `<recipeDir>/.modelpress/cache` holding entries. The CLI names it and says
 * how to move it rather than reading two caches, so `ls`/`gc` keep one
 * meaning. Undefined when there is none or it is the resolved cache itself.
 */
export function findLegacyCache(recipeDir: string, resolvedDir: string, exists: (file: string) => boolean = existsSync): string | undefined {
  const legacy = path.resolve(recipeDir, LEGACY_CACHE_SUBDIR);
  if (legacy === path.resolve(resolvedDir)) return undefined;
  return exists(path.join(legacy, 'entries')) ? legacy : undefined;
}

/** The advice printed when a legacy cache is found: a copy that never overwrites, then removal. */
export function legacyCacheAdvice(legacy: string, resolvedDir: string): string {
  return (
    `an old per-recipe cache is at ${legacy} and is no longer used; the project cache is ${resolvedDir}.\n` +
    `  to keep its entries: mkdir -p '${resolvedDir}' && cp -Rn '${legacy}/.' '${resolvedDir}/' && rm -rf '${legacy}'`
  );
}
