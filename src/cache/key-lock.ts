/*
 * Single-flight per cache key across processes: before computing a node, a
 * run creates `locks/<key>.lock` with O_EXCL. A second run that finds the lock
 * waits until the entry is published (and takes it as a hit) instead of
 * computing the node again and recording metrics that belong to one copy next
 * to the digests of another.
 *
 * A lock is stale, and is taken over, when
 *   - its owner ran on this host and that pid is gone (killed, crashed), or
 *   - its mtime is older than `staleMs`: the owner refreshes the mtime every
 *     `heartbeatMs` while it holds the lock, so only a dead or frozen owner
 *     (or one on another host that died) stops doing that.
 * Take-over renames the stale file to a unique name before deleting it, so two
 * waiters that judged the same lock stale cannot both delete a fresh one.
 */
import { hostname } from 'node:os';
import { link, mkdir, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { assertCacheKey } from './cache-key.js';
import { errorCode, randomName } from './fs-helpers.js';
import { isRecord } from './guards.js';

/** Default for `staleMs`: a lock whose heartbeat stopped this long ago is abandoned. */
export const DEFAULT_LOCK_STALE_MS = 2 * 60 * 1000;
/** Default for `heartbeatMs`: how often a holder refreshes its lock's mtime. */
export const DEFAULT_LOCK_HEARTBEAT_MS = 10 * 1000;

/** What a lock file holds: who computes the key, for waiters' messages and stale checks. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  startedAt: string;
}

export interface KeyLockOptions {
  /** Directory of the lock files, `<cache>/locks`. */
  dir: string;
  /** Lock age (since the last heartbeat) after which it counts as abandoned. Default: 120000 (2 min). */
  staleMs?: number;
  /** Heartbeat period of a held lock. Default: 10000 (10 s); must be well below `staleMs`. */
  heartbeatMs?: number;
}

/** A held lock: keeps its heartbeat going until released. */
export interface HeldLock {
  readonly file: string;
  release(): Promise<void>;
}

export type LockAttempt = { status: 'acquired'; lock: HeldLock } | { status: 'busy'; owner: LockOwner | undefined };

export class KeyLocks {
  readonly dir: string;
  readonly staleMs: number;
  readonly heartbeatMs: number;

  constructor(options: KeyLockOptions) {
    this.dir = options.dir;
    this.staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_LOCK_HEARTBEAT_MS;
    if (!(this.heartbeatMs > 0 && this.staleMs > this.heartbeatMs)) {
      throw new TypeError(`Expected 0 < heartbeatMs < staleMs, got heartbeatMs ${this.heartbeatMs} and staleMs ${this.staleMs}`);
    }
  }

  /**
   * Takes the lock of `key` if nobody holds it, or if its holder is gone
   * (stale). Never waits: callers poll, checking the cache in between.
   * Errors other than "exists" (EROFS, EACCES) are thrown to the caller.
   */
  async tryAcquire(key: string): Promise<LockAttempt> {
    assertCacheKey(key);
    const file = this.#file(key);
    await mkdir(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const owner: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
      try {
        const handle = await open(file, 'wx');
        try {
          await handle.writeFile(`${JSON.stringify(owner)}\n`);
        } finally {
          await handle.close();
        }
        return { status: 'acquired', lock: this.#held(file) };
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const current = await readLock(file);
      if (current === 'gone') continue;
      if (!(await this.#isStale(file, current))) return { status: 'busy', owner: current };
      await this.#takeOver(file, current);
    }
    return { status: 'busy', owner: await readLock(file).then((o) => (o === 'gone' ? undefined : o)) };
  }

  /** Whether a lock file exists for `key` (held or stale). */
  async isLocked(key: string): Promise<boolean> {
    return (await readLock(this.#file(key))) !== 'gone';
  }

  async #isStale(file: string, owner: LockOwner | undefined): Promise<boolean> {
    if (owner !== undefined && owner.hostname === hostname() && !pidAlive(owner.pid)) return true;
    const info = await stat(file).catch(() => undefined);
    // Gone meanwhile: not stale, the next attempt simply creates it.
    if (info === undefined) return false;
    return Date.now() - info.mtimeMs > this.staleMs;
  }

  async #takeOver(file: string, judged: LockOwner | undefined): Promise<void> {
    const aside = `${file}.stale-${randomName()}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    // Another waiter may have taken the stale lock over and created a fresh one
    // between our read and our rename: then we moved *its* lock; put it back.
    const moved = await readLock(aside);
    const same = moved !== 'gone' && moved?.pid === judged?.pid && moved?.startedAt === judged?.startedAt;
    if (!same && moved !== 'gone') await link(aside, file).catch(() => undefined);
    await rm(aside, { force: true });
  }

  #held(file: string): HeldLock {
    // Refresh the mtime so waiters on other hosts see the holder is alive.
    const timer = setInterval(() => {
      const now = new Date();
      utimes(file, now, now).catch(() => undefined);
    }, this.heartbeatMs);
    timer.unref();
    let released = false;
    return {
      file,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await rm(file, { force: true });
      },
    };
  }

  #file(key: string): string {
    return path.join(this.dir, `${key}.lock`);
  }
}

/** The owner recorded in a lock file; undefined when unreadable (half written), 'gone' when absent. */
async function readLock(file: string): Promise<LockOwner | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return errorCode(error) === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const data: unknown = JSON.parse(text);
    if (isRecord(data) && typeof data.pid === 'number' && typeof data.hostname === 'string' && typeof data.startedAt === 'string') {
      return { pid: data.pid, hostname: data.hostname, startedAt: data.startedAt };
    }
  } catch {
    // A lock being written right now reads as empty; treat as owner unknown.
  }
  return undefined;
}

/** Signal 0 checks existence; EPERM means it exists but belongs to another user. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** "pid 123 on host-a since 2026-…", for "waiting for another run" messages. */
export function describeOwner(owner: LockOwner | undefined): string {
  return owner === undefined ? 'an unknown process' : `pid ${owner.pid} on ${owner.hostname} since ${owner.startedAt}`;
}
