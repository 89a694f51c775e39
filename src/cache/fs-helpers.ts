import { randomBytes } from 'node:crypto';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isRecord } from './guards.js';

/** The `code` of a Node.js system error (`ENOENT`, ...), if any. */
export function errorCode(error: unknown): string | undefined {
  return isRecord(error) && typeof error.code === 'string' ? error.code : undefined;
}

/** A short description of why a file could not be read, for corrupt-entry reasons. */
export function fileProblem(error: unknown): string {
  const code = errorCode(error);
  if (code === 'ENOENT') return 'missing';
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** Directory names; empty when the directory does not exist (a store not yet written). */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

/** True unless `target` is known not to exist; other errors count as present so they surface later. */
export async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ENOENT';
  }
}

/** Bytes under `target`, without hashing; 0 for whatever vanishes meanwhile. */
export async function diskUsage(target: string): Promise<number> {
  const info = await lstat(target).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.isFile() ? info.size : 0;
  let total = 0;
  for (const name of await readdirOrEmpty(target)) total += await diskUsage(path.join(target, name));
  return total;
}

/** Code-unit order: listings must sort the same under every locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A name no other process will pick, for temp and trash directories. */
export function randomName(): string {
  return randomBytes(8).toString('hex');
}
