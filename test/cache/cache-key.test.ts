import { assertCacheKey, computeCacheKey, isCacheKey } from '../../src/cache/cache-key.js';
import { canonicalJson, sha256Hex } from '../../src/cache/canonical-json.js';

describe('cache keys', () => {
  it('hashes the canonical JSON of the key record', () => {
    const record = { stage: { name: 'quantize', version: '1' }, config: { weights: 'uint8' } };
    expect(computeCacheKey(record)).toBe(sha256Hex(canonicalJson(record)));
    expect(computeCacheKey({ config: { weights: 'uint8' }, stage: { version: '1', name: 'quantize' } })).toBe(
      computeCacheKey(record),
    );
    expect(isCacheKey(computeCacheKey(record))).toBe(true);
  });

  it.each<[unknown, boolean]>([
    ['0'.repeat(64), true],
    ['a'.repeat(64), true],
    ['A'.repeat(64), false],
    ['g'.repeat(64), false],
    ['a'.repeat(63), false],
    [`${'a'.repeat(62)}/.`, false],
    [undefined, false],
  ])('isCacheKey(%p) is %p', (value, expected) => {
    expect(isCacheKey(value)).toBe(expected);
  });

  it('names the rejected value', () => {
    expect(() => assertCacheKey('nope')).toThrow(
      new TypeError('Expected a cache key of 64 lowercase hex characters, got "nope"'),
    );
  });
});
