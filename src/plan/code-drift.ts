/**
 * Whether the code and tfjs behind a stored key record are still what this
 * process would key with: `cache explain` shows it, so "why will this entry
 * not be used again?" has an answer without re-planning ("stage code
 * changed", "tfjs 4.22.0 -> 4.23.0"). The node index keeps only a node's last
 * key, so the comparison is with the code on disk now.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyRecord } from './key-record.js';
import { builtinStageEntry, defaultCodeRoot, stageCode } from './stage-code.js';
import type { CodeRoot } from './stage-code.js';
import { tfjsVersions } from './tfjs-versions.js';

/**
 * Reasons the current code would key `record`'s node differently; empty when
 * code and tfjs are unchanged. Only built-in stages' code is compared (a
 * record does not say which plugin file a stage came from).
 */
export async function codeDriftSince(record: KeyRecord, root: CodeRoot = defaultCodeRoot(), fromDir?: string): Promise<string[]> {
  const reasons: string[] = [];
  const name = record.stage?.name;
  const builtin = name !== undefined && (existsSync(join(root.dir, builtinStageEntry(name))) || existsSync(join(root.dir, builtinStageEntry(name).replace(/\.js$/, '.ts'))));
  if (builtin && (await stageCode({ def: { name }, source: 'builtin' }, root.dir, root)).digest !== record.stage.code) reasons.push('stage code changed');
  let now;
  try {
    now = tfjsVersions(record.backend, fromDir);
  } catch {
    return reasons; // a backend this version does not know: nothing to compare with
  }
  if (record.tfjs?.core !== now.core) reasons.push(`tfjs ${record.tfjs?.core ?? 'unrecorded'} -> ${now.core}`);
  if (record.tfjs?.backend !== now.backend) reasons.push(`tfjs backend ${record.tfjs?.backend ?? 'unrecorded'} -> ${now.backend}`);
  return reasons;
}
