/**
 * Finished trials kept on disk so an interrupted search resumes without
 * re-running any, and a rerun with the same inputs is instant. A node's
 * scratch directory dies with the node and the cache stores only finished
 * nodes, so the trials live in a directory of their own (`resume.dir`),
 * one entry per trial key: the trial's model files plus trial.json, written
 * to a temp directory and renamed into place, so an entry is whole or absent.
 *
 * The key is a sha256 over everything that decides the trial's bytes: the
 * stage version, the input model's digest, the calibration split, the
 * settings, the fine-tuning config and the seed.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from '../../stage-definition.js';

/** Canonical JSON: object keys sorted, so equal records hash equally. */
function canonical(j: unknown): string {
  if (Array.isArray(j)) return `[${j.map(canonical).join(',')}]`;
  if (j !== null && typeof j === 'object') {
    return `{${Object.keys(j as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((j as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(j);
}

export function trialKey(record: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(record)).digest('hex');
}

export interface StoredTrial<T> {
  /** The trial's measurements as recorded. */
  result: T;
  /** Directory of the trial's model files. */
  modelDir: string;
}

export class TrialStore {
  constructor(readonly dir: string) {}

  /** The stored trial for `key`, or undefined (a missing or unreadable entry is a miss, never a crash). */
  async get<T>(key: string): Promise<StoredTrial<T> | undefined> {
    const entry = join(this.dir, key);
    try {
      const result = JSON.parse(await readFile(join(entry, 'trial.json'), 'utf8')) as T;
      return { result, modelDir: join(entry, 'model') };
    } catch {
      return undefined;
    }
  }

  /** Stores a finished trial (its model directory is copied). */
  async put(key: string, result: Json, modelDir: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${key}-${process.pid}-${Date.now()}`);
    await cp(modelDir, join(tmp, 'model'), { recursive: true });
    await writeFile(join(tmp, 'trial.json'), `${JSON.stringify(result, null, 2)}\n`);
    try {
      await rename(tmp, join(this.dir, key));
    } catch {
      // Another run stored the same trial first: same key, same bytes.
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
