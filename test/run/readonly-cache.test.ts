/**
 * Issue 14: a read-only cache where every node is cached crashed with a raw
 * EROFS stack from the node index. Reading a cache needs no write access now
 * (a warning says the index is not updated), and a node that must be stored
 * fails with a clear message. The cache is really read-only: a read-only bind
 * mount, which root cannot write through either (needs root; skipped otherwise).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { node, readLog, runRecipe, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: a read-only cache', () => {
  let ws: Workspace;
  let mounted: string | undefined;
  afterAll(async () => {
    if (mounted) {
      execFileSync('umount', [mounted]);
      await rmdir(mounted);
    }
    await ws?.remove();
  });

  (process.getuid?.() === 0 ? test : test.skip)('serves hits with a warning, and says clearly when a node needs a write', async () => {
    ws = await workspace('readonly', [{ id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 1000 } }]);
    const filled = await runRecipe(ws, 'fill');
    expect(filled.cli.code).toBe(0);
    mounted = join(ws.dir, 'ro-cache');
    await mkdir(mounted);
    execFileSync('mount', ['--bind', ws.cache, mounted]);
    execFileSync('mount', ['-o', 'remount,ro,bind', mounted]);

    const hit = await runRecipe(ws, 'hit', [], { cacheDir: mounted });
    expect({ code: hit.cli.code, internal: hit.cli.stderr.includes('internal error') }).toEqual({ code: 0, internal: false });
    expect(statuses(hit.record)).toEqual({ a: 'cached' });
    const warnings = (await readLog(hit.outDir)).filter((e) => e.event === 'node-log' && e.level === 'warn').map((e) => e.message);
    expect(warnings).toEqual([`cache ${mounted} is read-only (EROFS): cached results are used, but the record of which key each node last produced is not updated`]);

    const miss = await runRecipe(ws, 'miss', ['--set', 'stages.a.with.label=b'], { cacheDir: mounted });
    expect({ code: miss.cli.code, internal: miss.cli.stderr.includes('internal error') }).toEqual({ code: 1, internal: false });
    expect(node(miss.record, 'a').error).toMatchObject({
      phase: 'cache',
      message: expect.stringContaining(`cannot store the result in cache ${mounted}: read-only file system (EROFS); use a writable --cache-dir`),
    });
  });
});
