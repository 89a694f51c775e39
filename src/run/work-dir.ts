/**
 * The scratch space of a run (`<runDir>/.work`, one folder per running node).
 *
 * A run removes its own scratch space when it ends, but a killed run (SIGKILL,
 * a lost machine) cannot, and the next run usually writes to a new
 * timestamped directory, so the old `.work` (half-written models, possibly
 * hundreds of MB) would stay forever. Each `.work` therefore records its
 * owner (pid and host); a run starting in `runs/<name>/` removes the `.work`
 * of sibling run directories whose owner is a dead process on this host.
 * Scratch spaces of live runs, of other hosts (a shared disk), and without an
 * owner file younger than a day are left alone.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pidAlive } from '../cache/key-lock.js';

export const WORK_DIR_NAME = '.work';
const OWNER_FILE = 'owner.json';
const ORPHAN_AGE_MS = 24 * 60 * 60 * 1000;

interface Owner {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Creates (empty) `<runDir>/.work` owned by this process; returns its path. */
export async function createWorkDir(runDir: string): Promise<string> {
  const dir = join(runDir, WORK_DIR_NAME);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const owner: Owner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  await writeFile(join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
  return dir;
}

/**
 * Removes the `.work` of sibling run directories (`dirname(runDir)/*`) left
 * by dead runs on this host. Returns the directories removed. Never throws:
 * cleaning up after others must not stop this run.
 */
export async function sweepStaleWorkDirs(runDir: string, now = Date.now()): Promise<string[]> {
  const parent = dirname(runDir);
  const removed: string[] = [];
  let siblings: string[];
  try {
    siblings = await readdir(parent);
  } catch {
    return removed;
  }
  for (const name of siblings) {
    if (name === basename(runDir)) continue;
    const work = join(parent, name, WORK_DIR_NAME);
    try {
      if (!(await stat(work)).isDirectory()) continue;
      if (!(await isStale(work, now))) continue;
      await rm(work, { recursive: true, force: true });
      removed.push(work);
    } catch {
      // Missing, unreadable or removed concurrently: not ours to worry about.
    }
  }
  return removed;
}

async function isStale(work: string, now: number): Promise<boolean> {
  let owner: Owner | undefined;
  try {
    owner = JSON.parse(await readFile(join(work, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    owner = undefined;
  }
  if (owner === undefined || typeof owner.pid !== 'number') {
    // Written by an older modelpress, or the owner file never got written.
    return now - (await stat(work)).mtimeMs > ORPHAN_AGE_MS;
  }
  return owner.hostname === hostname() && !pidAlive(owner.pid);
}
