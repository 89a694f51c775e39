/**
 * A dataset's fingerprint: `sha256:` over the canonical JSON of an explicit
 * record (the same recipe as cache keys, see cache/canonical-json.ts):
 *
 *   { loader, version, options, files: { <role>: { sha256, size } } }
 *
 * - `options` are the loader options after defaults, so `{ split: test }` and
 *   `{ split: test, normalize: unit }` are the same dataset;
 * - file-path options are left out of `options` and replaced by the files'
 *   content hashes under `files`: moving or renaming a file (or checking the
 *   repo out elsewhere) keeps the fingerprint, changing one byte changes it;
 * - the loader `version` is bumped when a loader's output changes for the
 *   same inputs (a parsing fix), which must invalidate cached results.
 *
 * The record stays readable (no pre-hashed blobs) so a "why did this re-run"
 * explanation can diff two of them.
 */
import { canonicalJson, sha256Hex } from '../cache/canonical-json.js';
import type { FileHashCache } from './file-hash.js';
import { processFileHashes } from './file-hash.js';
import type { SourceFile } from './source.js';

export interface FingerprintRecord {
  loader: string;
  version: string;
  options: Record<string, unknown>;
  files: Record<string, { sha256: string; size: number }>;
}

/** Hashes `files` (memoised) and builds the record. */
export async function fingerprintRecord(
  loader: { name: string; version: string },
  options: Record<string, unknown>,
  files: Record<string, SourceFile>,
  hashes: FileHashCache = processFileHashes,
): Promise<FingerprintRecord> {
  const roles = Object.keys(files).sort();
  const hashed = await Promise.all(roles.map((role) => hashes.hash(files[role]!)));
  const fileHashes: FingerprintRecord['files'] = {};
  roles.forEach((role, i) => {
    const h = hashed[i]!;
    fileHashes[role] = { sha256: h.sha256, size: h.size };
  });
  return { loader: loader.name, version: loader.version, options, files: fileHashes };
}

/** `sha256:<hex>` of the canonical record. */
export function fingerprintOf(record: FingerprintRecord): string {
  return `sha256:${sha256Hex(canonicalJson(record))}`;
}

/** Both steps: the fingerprint of a dataset read from `files` with `options`. */
export async function datasetFingerprint(
  loader: { name: string; version: string },
  options: Record<string, unknown>,
  files: Record<string, SourceFile>,
  hashes?: FileHashCache,
): Promise<string> {
  return fingerprintOf(await fingerprintRecord(loader, options, files, hashes));
}
