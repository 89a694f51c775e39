// The public surface of the cache; the other modules in this folder are internal.
export { canonicalJson, sha256Hex } from './canonical-json.js';
export { assertCacheKey, computeCacheKey, isCacheKey } from './cache-key.js';
export { digestDirectory, digestFile, listFiles } from './digest.js';
export type { DirectoryDigest, FileDigest, FileHash, ListedFile } from './digest.js';
export { MANIFEST_FORMAT_VERSION } from './manifest.js';
export type { CacheManifest } from './manifest.js';
export type { NodeRecord } from './node-index.js';
export { CacheStore } from './store.js';
export type {
  CacheEntry,
  CacheEntrySummary,
  CacheLeftover,
  CacheLookup,
  CachePutInput,
  CacheStoreOptions,
  GcOptions,
  GcResult,
} from './store.js';
export { CACHE_DIR_ENV, findLegacyCache, findProjectRoot, legacyCacheAdvice, LEGACY_CACHE_SUBDIR, PROJECT_CACHE_SUBDIR, resolveCacheDir } from './default-dir.js';
export type { ResolveCacheDirOptions } from './default-dir.js';
export { DEFAULT_LOCK_HEARTBEAT_MS, DEFAULT_LOCK_STALE_MS, describeOwner, KeyLocks } from './key-lock.js';
export type { HeldLock, KeyLockOptions, LockAttempt, LockOwner } from './key-lock.js';
