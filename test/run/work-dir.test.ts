/**
 * Scratch spaces of killed runs are removed by the next run in the same
 * runs folder; those of live runs, and recent ones without an owner, stay.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, expect, test } from '@jest/globals';
import { createWorkDir, sweepStaleWorkDirs } from '../../src/run/work-dir.js';

let root: string;
afterEach(() => rm(root, { recursive: true, force: true }));

async function work(run: string, owner?: object): Promise<string> {
  const dir = join(root, run, '.work');
  await mkdir(join(dir, 'node'), { recursive: true });
  await writeFile(join(dir, 'node', 'big.bin'), 'x');
  if (owner) await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
  return dir;
}

test('the .work of dead runs on this host goes; live, foreign-host and recent ownerless ones stay', async () => {
  root = await mkdtemp(join(tmpdir(), 'mp-work-'));
  // A pid that certainly exited: a finished child process.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const deadRun = await work('2026-01-01T00-00-00', { pid: dead, hostname: hostname(), startedAt: 'x' });
  const liveRun = await work('2026-01-01T00-00-01', { pid: process.pid, hostname: hostname(), startedAt: 'x' });
  const otherHost = await work('2026-01-01T00-00-02', { pid: dead, hostname: `${hostname()}-elsewhere`, startedAt: 'x' });
  const recentOrphan = await work('2026-01-01T00-00-03');
  const oldOrphan = await work('2026-01-01T00-00-04');
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  await utimes(oldOrphan, twoDaysAgo, twoDaysAgo);

  const removed = await sweepStaleWorkDirs(join(root, 'now'));
  expect(removed.sort()).toEqual([deadRun, oldOrphan].sort());
  expect([deadRun, liveRun, otherHost, recentOrphan, oldOrphan].map((d) => existsSync(d))).toEqual([false, true, true, true, false]);
});

test('createWorkDir empties the folder and records this process as owner', async () => {
  root = await mkdtemp(join(tmpdir(), 'mp-work-'));
  await work('run', { pid: 1, hostname: 'h', startedAt: 'x' });
  const dir = await createWorkDir(join(root, 'run'));
  expect(existsSync(join(dir, 'node'))).toBe(false);
  expect(JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
});
