import path from 'node:path';
import {
  CACHE_DIR_ENV,
  findLegacyCache,
  findProjectRoot,
  legacyCacheAdvice,
  resolveCacheDir,
} from '../../src/cache/default-dir.js';

/** A fake file system holding exactly these paths. */
function fs(...files: string[]): (file: string) => boolean {
  const set = new Set(files.map((f) => path.resolve(f)));
  return (file) => set.has(path.resolve(file));
}

describe('resolveCacheDir', () => {
  const recipeDir = path.resolve('/repo/compress/phone');
  const inProject = fs('/repo/package.json');
  const outside = fs();

  it('names the environment variable', () => {
    expect(CACHE_DIR_ENV).toBe('MODELPRESS_CACHE_DIR');
  });

  it.each<[string, { flag?: string; env: NodeJS.ProcessEnv; exists: (f: string) => boolean }, string]>([
    ['the flag wins over the environment', { flag: '/flag', env: { MODELPRESS_CACHE_DIR: '/env' }, exists: inProject }, path.resolve('/flag')],
    ['the environment wins over the project', { env: { MODELPRESS_CACHE_DIR: '/env' }, exists: inProject }, path.resolve('/env')],
    ['a relative flag resolves against the cwd', { flag: 'rel/cache', env: {}, exists: inProject }, path.resolve(process.cwd(), 'rel/cache')],
    ['a relative env value resolves against the cwd', { env: { MODELPRESS_CACHE_DIR: 'envrel' }, exists: inProject }, path.resolve(process.cwd(), 'envrel')],
    ['the default is the nearest package.json\'s node_modules/.cache', { env: {}, exists: inProject }, path.resolve('/repo/node_modules/.cache/modelpress')],
    ['the nearest package.json wins over one further up', { env: {}, exists: fs('/repo/package.json', '/repo/compress/package.json') }, path.resolve('/repo/compress/node_modules/.cache/modelpress')],
    ['outside any package it sits next to the recipe', { env: {}, exists: outside }, path.join(recipeDir, '.modelpress', 'cache')],
    ['an empty env value counts as unset', { env: { MODELPRESS_CACHE_DIR: '' }, exists: inProject }, path.resolve('/repo/node_modules/.cache/modelpress')],
    ['an empty flag counts as unset', { flag: '', env: { MODELPRESS_CACHE_DIR: '/env' }, exists: inProject }, path.resolve('/env')],
  ])('%s', (_name, options, expected) => {
    expect(resolveCacheDir({ ...options, recipeDir })).toBe(expected);
  });

  it('gives every folder of one project the same cache', () => {
    const exists = fs('/repo/package.json');
    const dirs = ['/repo', '/repo/compress/phone', '/repo/examples/custom-stages'].map((d) => resolveCacheDir({ env: {}, recipeDir: path.resolve(d), exists }));
    expect(new Set(dirs)).toEqual(new Set([path.resolve('/repo/node_modules/.cache/modelpress')]));
  });

  it('resolves a relative recipe dir against the cwd', () => {
    expect(resolveCacheDir({ env: {}, recipeDir: 'compress', exists: outside })).toBe(path.resolve(process.cwd(), 'compress', '.modelpress', 'cache'));
  });
});

describe('findProjectRoot', () => {
  it.each<[string, string, string[], string | undefined]>([
    ['the directory itself', '/repo', ['/repo/package.json'], '/repo'],
    ['a parent', '/repo/a/b', ['/repo/package.json'], '/repo'],
    ['none', '/repo/a', [], undefined],
  ])('%s', (_name, start, files, expected) => {
    expect(findProjectRoot(path.resolve(start), fs(...files))).toBe(expected === undefined ? undefined : path.resolve(expected));
  });
});

describe('findLegacyCache', () => {
  const recipeDir = path.resolve('/repo/compress');
  const legacy = path.resolve('/repo/compress/.modelpress/cache');

  it.each<[string, string[], string, string | undefined]>([
    ['an old cache with entries is found', [`${legacy}/entries`], '/repo/node_modules/.cache/modelpress', legacy],
    ['no old cache', [], '/repo/node_modules/.cache/modelpress', undefined],
    ['an old cache without entries is nothing to move', [legacy], '/repo/node_modules/.cache/modelpress', undefined],
    ['the old location is the cache in use (outside a package)', [`${legacy}/entries`], legacy, undefined],
  ])('%s', (_name, files, resolved, expected) => {
    expect(findLegacyCache(recipeDir, path.resolve(resolved), fs(...files))).toBe(expected);
  });

  it('says how to move it', () => {
    expect(legacyCacheAdvice('/repo/compress/.modelpress/cache', '/repo/node_modules/.cache/modelpress')).toBe(
      'an old per-recipe cache is at /repo/compress/.modelpress/cache and is no longer used; the project cache is /repo/node_modules/.cache/modelpress.\n' +
        "  to keep its entries: mkdir -p '/repo/node_modules/.cache/modelpress' && cp -Rn '/repo/compress/.modelpress/cache/.' '/repo/node_modules/.cache/modelpress/' && rm -rf '/repo/compress/.modelpress/cache'",
    );
  });
});
