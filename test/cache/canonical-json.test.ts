import { canonicalJson, sha256Hex } from '../../src/cache/canonical-json.js';

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    ['sorts object keys', { b: 1, a: 2, c: 3 }, '{"a":2,"b":1,"c":3}'],
    ['sorts nested keys', { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null }, '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}'],
    ['sorts by code unit, not locale', { b: 1, B: 2, a: 3, _: 4 }, '{"B":2,"_":4,"a":3,"b":1}'],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    ['drops undefined properties', { a: undefined, b: 1 }, '{"b":1}'],
    ['turns undefined array items into null', [1, undefined], '[1,null]'],
    ['escapes strings like JSON', { 'q"k': 'line\nbreak' }, '{"q\\"k":"line\\nbreak"}'],
    ['writes -0 as 0', -0, '0'],
    ['uses toJSON', { at: new Date('2024-01-02T03:04:05.000Z') }, '{"at":"2024-01-02T03:04:05.000Z"}'],
    ['accepts null-prototype objects', Object.assign(Object.create(null) as object, { b: 1, a: 2 }), '{"a":2,"b":1}'],
    ['writes scalars', [true, false, null, 1.5, 'x'], '[true,false,null,1.5,"x"]'],
  ])('%s', (_name, input, expected) => {
    expect(canonicalJson(input)).toBe(expected);
  });

  it('gives the same bytes whatever the insertion order', () => {
    const a = { stage: { name: 'prune', version: '1' }, config: { sparsity: 0.9, method: 'magnitude' } };
    const b = { config: { method: 'magnitude', sparsity: 0.9 }, stage: { version: '1', name: 'prune' } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(sha256Hex(canonicalJson(a))).toBe(sha256Hex(canonicalJson(b)));
  });

  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each<[string, unknown, string]>([
    ['NaN', { metrics: { loss: Number.NaN } }, 'Expected a finite number at $.metrics.loss, got NaN'],
    ['Infinity', [1, Infinity], 'Expected a finite number at $[1], got Infinity'],
    ['-Infinity', -Infinity, 'Expected a finite number at $, got -Infinity'],
    ['a function', { f: () => 1 }, 'Expected a JSON value at $.f, got function'],
    ['a symbol', { s: Symbol('s') }, 'Expected a JSON value at $.s, got symbol'],
    ['a bigint', { n: 1n }, 'Expected a JSON value at $.n, got bigint'],
    ['a Map', { m: new Map() }, 'Expected a plain object at $.m, got Map'],
    ['a circular reference', circular, 'Expected a JSON value at $.self, got a circular reference'],
    ['undefined', undefined, 'Expected a JSON value at $, got undefined'],
  ])('rejects %s with a TypeError', (_name, input, message) => {
    expect(() => canonicalJson(input)).toThrow(new TypeError(message));
  });

  it('accepts a shared (non-circular) object twice', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });
});

describe('sha256Hex', () => {
  it.each<[string, string | Uint8Array, string]>([
    ['empty string', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc"', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['bytes of "abc"', new TextEncoder().encode('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ])('hashes %s', (_name, input, expected) => {
    expect(sha256Hex(input)).toBe(expected);
  });
});
