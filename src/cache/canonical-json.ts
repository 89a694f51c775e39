import { createHash } from 'node:crypto';

/**
 * Serializes `value` as JSON whose bytes depend only on its content, never on
 * how it was built, so that hashing it gives a stable cache key.
 *
 * - Object keys are sorted by UTF-16 code unit (not `localeCompare`: the order
 *   must not change with the machine's locale).
 * - Properties whose value is `undefined` are dropped, as `JSON.stringify` does;
 *   `undefined` inside an array becomes `null` for the same reason.
 * - Values with a `toJSON` method (e.g. `Date`) are replaced by its result.
 * - Non-finite numbers, functions, symbols, bigints, circular references and
 *   non-plain objects (`Map`, `Set`, class instances) throw a TypeError naming
 *   the path: `JSON.stringify` would silently turn them into `null` or `{}`, and
 *   two different configs would then share one cache key.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const text = encode(value, '$', new Set());
  if (text === undefined) {
    throw new TypeError('Expected a JSON value at $, got undefined');
  }
  return text;
}

/** Hex SHA-256 of `data`; strings are hashed as their UTF-8 bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function encode(input: unknown, path: string, ancestors: Set<object>): string | undefined {
  const value = hasToJson(input) ? input.toJSON() : input;
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(`Expected a finite number at ${path}, got ${value}`);
      }
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      return encodeObject(value, path, ancestors);
    default:
      throw new TypeError(`Expected a JSON value at ${path}, got ${typeof value}`);
  }
}

function encodeObject(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) {
    throw new TypeError(`Expected a JSON value at ${path}, got a circular reference`);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.map((item: unknown, index) => encode(item, `${path}[${index}]`, ancestors) ?? 'null');
      return `[${items.join(',')}]`;
    }
    if (!isPlainObject(value)) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new TypeError(`Expected a plain object at ${path}, got ${name}`);
    }
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const encoded = encode(record[key], `${path}.${key}`, ancestors);
      if (encoded !== undefined) members.push(`${JSON.stringify(key)}:${encoded}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  );
}

/**
 * A plain object from any realm: `structuredClone` and worker messages can
 * hand us objects whose prototype is another context's Object.prototype
 * (jest's vm contexts do this), so compare by shape, not identity.
 */
function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === null || prototype === Object.prototype) return true;
  return Object.getPrototypeOf(prototype) === null && Object.prototype.toString.call(value) === '[object Object]';
}
