/**
 * Issue 14, the run directory (`--out`):
 * - on a full disk, "succeeded" was followed by "internal error ... This is a
 *   bug" and a run.json truncated mid-way. run.json is now written atomically
 *   (temp file + rename) and ENOSPC is a clear error with exit 1. The full
 *   disk is real: a 64 KiB tmpfs (needs root to mount; skipped otherwise).
 * - a reused `--out` appended to the previous run's run.log.jsonl; each run
 *   now starts its own log.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readLog, runRecipe, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';
import { runCli } from '../cli/run-cli.js';

/** Whether this process may mount a tmpfs (root in a container that allows it). */
function canMount(): boolean {
  return process.getuid?.() === 0 && existsSync('/proc/filesystems');
}

describe('run: the run directory', () => {
  let ws: Workspace;
  let mounted: string | undefined;
  afterAll(async () => {
    if (mounted) {
      execFileSync('umount', [mounted]);
      await rmdir(mounted);
    }
    await ws?.remove();
  });

  (canMount() ? test : test.skip)('a full disk under --out: a clear ENOSPC error, exit 1, no truncated run.json', async () => {
    // A 20 KB label appears in the artifact and three times in run.json, which no longer fits.
    ws = await workspace('nospace', [{ id: 'big', uses: 'test/hash-chain', with: { label: 'x'.repeat(20_000), rounds: 1000 } }]);
    mounted = join(ws.dir, 'full');
    await mkdir(mounted);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mounted]);
    const out = join(mounted, 'run');
    const cli = await runCli(['run', ws.recipe, '--out', out, '--cache-dir', ws.cache], { cwd: ws.dir });
    expect(cli.code).toBe(1);
    expect(cli.stderr).not.toContain('internal error');
    expect(cli.stderr).toContain(
      `modelpress run: cannot write ${join(out, 'run.json')}: no space left on device (ENOSPC)\n` +
        '  the run succeeded and its cache entries are kept; free space or choose another --out and run again (nothing is recomputed)\n',
    );
    // Atomic: either a whole run.json or none, and no temp file left behind.
    expect((await readdir(out)).filter((f) => f.startsWith('run.json'))).toEqual([]);
  });

  test('a reused --out starts a fresh run.log.jsonl', async () => {
    const reuse = await workspace('reuse-out', [{ id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 1000 } }]);
    try {
      await runRecipe(reuse, 'same');
      const second = await runRecipe(reuse, 'same');
      const started = (await readLog(second.outDir)).filter((e) => e.event === 'run-started');
      expect(started).toHaveLength(1);
      expect(second.record.nodes[0]?.status).toBe('cached');
    } finally {
      await reuse.remove();
    }
  });
});
