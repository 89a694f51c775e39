/**
 * Issue "Foundation 2/2" (d): a run killed with SIGKILL in the middle of a
 * stage leaves nothing that breaks the next run: the finished stage is a
 * cache hit, the killed one runs again, and the cache has no corrupt entry.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';
import { node, runRecipe, startCli, stopIfRunning, waitForFile, workspace } from './helpers.js';
import type { Running, Workspace } from './helpers.js';

describe('run: SIGKILL mid-stage', () => {
  let ws: Workspace;
  let run: Running | undefined;
  afterAll(async () => {
    stopIfRunning(run);
    await ws?.remove();
  });

  test('the next run succeeds, reuses the finished stage, and the cache lists no corrupt entry', async () => {
    ws = await workspace('sigkill', [
      { id: 'fast', uses: 'test/hash-chain', with: { label: 'fast', rounds: 2000 } },
      { id: 'slow', uses: 'test/slow', with: { seconds: 30 } }, // needs `fast`
    ]);
    const out = ws.out('killed');
    const cli = startCli(['run', ws.recipe, '--out', out, '--cache-dir', ws.cache, '--jobs', '2'], ws.dir);
    run = cli; // for afterAll, if the test fails while it runs
    // `slow` starts only after `fast` finished and was stored.
    await waitForFile(join(out, '.work', 'slow', 'outputs', 'data', 'started'), 30_000, () => cli.stdout() + cli.stderr());
    cli.child.kill('SIGKILL');
    const killed = await cli.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'run.json'))).toBe(false);
    expect(existsSync(join(out, '.work'))).toBe(true); // the killed run's scratch space is left behind

    // A new run directory beside it (the default `runs/<name>/<timestamp>/`), slow stage shortened.
    const again = await runRecipe(ws, 'again', ['--jobs', '2', '--set', 'stages.slow.with.seconds=0.2']);
    expect(again.cli.code).toBe(0);
    expect(again.cli.stderr).toBe('');
    expect(again.record.status).toBe('succeeded');
    expect([node(again.record, 'fast').status, node(again.record, 'fast').cacheHit]).toEqual(['cached', true]);
    expect([node(again.record, 'slow').status, node(again.record, 'slow').error]).toEqual(['ran', null]);
    expect(again.cli.stdout).not.toMatch(/FAILED|corrupt/);
    // The next run removed the killed run's scratch space (its owner is dead), and its own.
    expect(existsSync(join(out, '.work'))).toBe(false);
    expect(existsSync(join(again.outDir, '.work'))).toBe(false);

    const ls = await runCli(['cache', 'ls', '--cache-dir', ws.cache], { cwd: ws.dir });
    expect(ls.code).toBe(0);
    expect(ls.stdout).not.toContain('CORRUPT');
    expect(ls.stdout).toContain(': 2 entries\n');
    expect(ls.stdout).toMatch(/^ {2}[0-9a-f]{12} {2}fast /m);
    expect(ls.stdout).toMatch(/^ {2}[0-9a-f]{12} {2}slow /m);
  });
});
