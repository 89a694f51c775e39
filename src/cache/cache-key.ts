import { canonicalJson, sha256Hex } from './canonical-json.js';
import { describeValue } from './guards.js';

// Keys become directory names, so exactly one spelling is accepted: fixed length
// and hex only means a key can never hold `/` or `..`, and lowercase only means a
// case-insensitive file system cannot alias two keys.
const CACHE_KEY_PATTERN = /^[0-9a-f]{64}$/;

/** True when `value` is a well-formed cache key (64 lowercase hex characters). */
export function isCacheKey(value: unknown): value is string {
  return typeof value === 'string' && CACHE_KEY_PATTERN.test(value);
}

/** Throws a TypeError unless `value` is a well-formed cache key. */
export function assertCacheKey(value: unknown): asserts value is string {
  if (!isCacheKey(value)) {
    throw new TypeError(
      `Expected a cache key of 64 lowercase hex characters, got ${describeValue(value)}`,
    );
  }
}

/**
 * The cache key of a key record: sha256 of its canonical JSON. Keeping the
 * definition here means the planner and `cache explain` can never disagree on
 * how a record maps to a key.
 */
export function computeCacheKey(record: unknown): string {
  return sha256Hex(canonicalJson(record));
}
