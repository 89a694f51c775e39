import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DirectoryDigest } from './digest.js';
import { errorCode, exists, fileProblem } from './fs-helpers.js';
import { describeValue, isRecord, isSha256Hex } from './guards.js';
import { MANIFEST_FILE } from './layout.js';

export const MANIFEST_FORMAT_VERSION = 1;

/** Written last into an entry; everything a reader needs to verify it. */
export interface CacheManifest {
  formatVersion: 1;
  key: string;
  createdAt: string;
  node?: string;
  outputs: Record<string, DirectoryDigest>;
  /** Hex SHA-256 of the bytes of result.json. */
  resultSha256: string;
  /** Hex SHA-256 of the bytes of key.json. */
  keySha256: string;
}

// Output names become directory names: no separators, and no leading dot, so never `.` or `..`.
const OUTPUT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function isOutputName(name: string): boolean {
  return OUTPUT_NAME.test(name);
}

export function describeOutputNameRule(): string {
  return String(OUTPUT_NAME);
}

/**
 * The manifest of the entry in `dir`, a reason it is unusable, or undefined
 * when there is no entry at all (a miss, not damage).
 */
export async function readManifest(
  dir: string,
  key: string,
): Promise<CacheManifest | { reason: string } | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT' && !(await exists(dir))) return undefined;
    return { reason: `${MANIFEST_FILE}: ${fileProblem(error)}` };
  }
  const parsed = parseManifest(text, key);
  return typeof parsed === 'string' ? { reason: `${MANIFEST_FILE}: ${parsed}` } : parsed;
}

/** Bytes of the output artifacts an entry holds. */
export function artifactBytes(manifest: CacheManifest): number {
  let total = 0;
  for (const digest of Object.values(manifest.outputs)) {
    for (const file of digest.files) total += file.size;
  }
  return total;
}

function parseManifest(text: string, key: string): CacheManifest | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'invalid JSON';
  }
  if (!isRecord(data)) return 'expected an object';
  if (data.formatVersion !== MANIFEST_FORMAT_VERSION) {
    return `unsupported formatVersion ${describeValue(data.formatVersion)}`;
  }
  if (data.key !== key) return `key ${describeValue(data.key)} does not match the entry directory`;
  if (typeof data.createdAt !== 'string' || Number.isNaN(Date.parse(data.createdAt))) return 'invalid createdAt';
  if (data.node !== undefined && typeof data.node !== 'string') return 'invalid node';
  if (!isSha256Hex(data.resultSha256)) return 'invalid resultSha256';
  if (!isSha256Hex(data.keySha256)) return 'invalid keySha256';
  if (!isRecord(data.outputs)) return 'invalid outputs';
  for (const [name, digest] of Object.entries(data.outputs)) {
    // Checked because names are joined into paths below the entry.
    if (!isOutputName(name) || !isDirectoryDigest(digest)) return `invalid outputs.${name}`;
  }
  return data as unknown as CacheManifest;
}

function isDirectoryDigest(value: unknown): value is DirectoryDigest {
  return (
    isRecord(value) &&
    typeof value.digest === 'string' &&
    Array.isArray(value.files) &&
    value.files.every(
      (file: unknown) =>
        isRecord(file) &&
        typeof file.path === 'string' &&
        Number.isSafeInteger(file.size) &&
        isSha256Hex(file.sha256),
    )
  );
}
