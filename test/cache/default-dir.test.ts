import path from 'node:path';
import { CACHE_DIR_ENV, resolveCacheDir } from '../../src/cache/default-dir.js';

describe('resolveCacheDir', () => {
  const recipeDir = path.resolve('/repo/compress');

  it('names the environment variable', () => {
    expect(CACHE_DIR_ENV).toBe('MODELPRESS_CACHE_DIR');
  });

  it.each<[string, { flag?: string; env: NodeJS.ProcessEnv }, string]>([
    ['the flag wins over the environment', { flag: '/flag', env: { MODELPRESS_CACHE_DIR: '/env' } }, path.resolve('/flag')],
    ['the environment wins over the default', { env: { MODELPRESS_CACHE_DIR: '/env' } }, path.resolve('/env')],
    ['a relative flag resolves against the cwd', { flag: 'rel/cache', env: {} }, path.resolve(process.cwd(), 'rel/cache')],
    ['a relative env value resolves against the cwd', { env: { MODELPRESS_CACHE_DIR: 'envrel' } }, path.resolve(process.cwd(), 'envrel')],
    ['the default sits next to the recipe', { env: {} }, path.join(recipeDir, '.modelpress', 'cache')],
    ['an empty env value counts as unset', { env: { MODELPRESS_CACHE_DIR: '' } }, path.join(recipeDir, '.modelpress', 'cache')],
    ['an empty flag counts as unset', { flag: '', env: { MODELPRESS_CACHE_DIR: '/env' } }, path.resolve('/env')],
  ])('%s', (_name, options, expected) => {
    expect(resolveCacheDir({ ...options, recipeDir })).toBe(expected);
  });

  it('resolves a relative recipe dir against the cwd', () => {
    expect(resolveCacheDir({ env: {}, recipeDir: 'compress' })).toBe(
      path.resolve(process.cwd(), 'compress', '.modelpress', 'cache'),
    );
  });
});
