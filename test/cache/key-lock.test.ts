/**
 * Per-key locks (src/cache/key-lock.ts) on real files: who gets the lock,
 * when a lock counts as abandoned, and the heartbeat that keeps a held one fresh.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOwner, KeyLocks } from '../../src/cache/key-lock.js';

const KEY = 'a'.repeat(64);

/** The pid of a process that has exited: a lock left by a killed run. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('KeyLocks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-locks-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeLock(owner: { pid: number; hostname: string }, ageMs = 0): Promise<string> {
    const file = join(dir, `${KEY}.lock`);
    await mkdir(dir, { recursive: true });
    await writeFile(file, JSON.stringify({ ...owner, startedAt: '2026-01-01T00:00:00.000Z' }));
    const at = new Date(Date.now() - ageMs);
    await utimes(file, at, at);
    return file;
  }

  test('the first caller acquires; a second sees it busy with the owner; release frees it', async () => {
    const locks = new KeyLocks({ dir });
    const first = await locks.tryAcquire(KEY);
    expect(first.status).toBe('acquired');
    const second = await locks.tryAcquire(KEY);
    expect(second).toEqual({ status: 'busy', owner: { pid: process.pid, hostname: hostname(), startedAt: expect.any(String) } });
    if (first.status === 'acquired') await first.lock.release();
    expect(await locks.isLocked(KEY)).toBe(false);
    expect((await locks.tryAcquire(KEY)).status).toBe('acquired');
  });

  test.each([
    ['a dead pid on this host', () => ({ pid: deadPid(), hostname: hostname() }), 0, 'acquired'],
    ['a live pid on this host, fresh', () => ({ pid: process.pid, hostname: hostname() }), 0, 'busy'],
    ['another host, heartbeat fresh', () => ({ pid: 1, hostname: 'other-host.invalid' }), 0, 'busy'],
    ['another host, no heartbeat for longer than staleMs', () => ({ pid: 1, hostname: 'other-host.invalid' }), 5_000, 'acquired'],
    ['a live pid on this host, no heartbeat for longer than staleMs', () => ({ pid: process.pid, hostname: hostname() }), 5_000, 'acquired'],
  ])('a lock held by %s', async (_what, owner, ageMs, expected) => {
    await writeLock(owner(), ageMs);
    const attempt = await new KeyLocks({ dir, staleMs: 1_000, heartbeatMs: 100 }).tryAcquire(KEY);
    expect(attempt.status).toBe(expected);
    if (attempt.status === 'acquired') {
      // The take-over wrote our own owner record in place of the stale one.
      expect(JSON.parse(await readFile(attempt.lock.file, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
      await attempt.lock.release();
    }
  });

  test('a held lock refreshes its mtime, so waiters elsewhere do not take it over', async () => {
    const locks = new KeyLocks({ dir, staleMs: 400, heartbeatMs: 50 });
    const attempt = await locks.tryAcquire(KEY);
    if (attempt.status !== 'acquired') throw new Error('expected to acquire');
    const old = new Date(Date.now() - 10_000);
    await utimes(attempt.lock.file, old, old);
    await new Promise((r) => setTimeout(r, 200));
    expect(Date.now() - (await stat(attempt.lock.file)).mtimeMs).toBeLessThan(400);
    await attempt.lock.release();
  });

  test.each([
    [{ staleMs: 100, heartbeatMs: 100 }, 'Expected 0 < heartbeatMs < staleMs, got heartbeatMs 100 and staleMs 100'],
    [{ staleMs: 1000, heartbeatMs: 0 }, 'Expected 0 < heartbeatMs < staleMs, got heartbeatMs 0 and staleMs 1000'],
  ])('rejects %j', (options, message) => {
    expect(() => new KeyLocks({ dir, ...options })).toThrow(message);
  });

  test('describeOwner names the holder for "waiting for another run" messages', () => {
    expect(describeOwner({ pid: 42, hostname: 'box', startedAt: '2026-01-01T00:00:00.000Z' })).toBe('pid 42 on box since 2026-01-01T00:00:00.000Z');
    expect(describeOwner(undefined)).toBe('an unknown process');
  });
});
