/**
 * Checks of the library API's options. A wrong option is the caller's bug,
 * not a recipe problem, so it is a TypeError saying "Expected X, got Y"
 * (like p-queue's constructor), thrown before any work starts.
 */
import { BACKEND_NAMES } from '../engine/backend.js';
import type { BackendName } from '../engine/backend.js';

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value) ?? String(value);
}

export function expectObject(name: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`Expected \`${name}\` to be an object, got ${shown(value)}`);
}

export function expectString(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${shown(value)}`);
}

export function expectStrings(name: string, value: unknown): void {
  if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
    throw new TypeError(`Expected \`${name}\` to be an array of strings, got ${shown(value)}`);
  }
}

export function expectInteger(name: string, value: unknown, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= min)) {
    throw new TypeError(`Expected \`${name}\` to be an integer >= ${min}, got ${shown(value)}`);
  }
}

export function expectBackend(value: unknown): asserts value is BackendName | undefined {
  if (value !== undefined && !BACKEND_NAMES.includes(value as BackendName)) {
    throw new TypeError(`Expected \`backend\` to be one of ${BACKEND_NAMES.join(', ')}, got ${shown(value)}`);
  }
}

export function expectFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${shown(value)}`);
}

export function expectSignal(value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${shown(value)}`);
}
