/**
 * Issue "Foundation 2/2" (i): Ctrl-C (SIGINT) stops a run cleanly: running
 * stages are asked to stop, run.json records the interruption, the exit
 * code is 130, and a re-run resumes from what finished.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { node, readLog, readRecord, report, runRecipe, startCli, statuses, stopIfRunning, waitForFile, workspace } from './helpers.js';
import type { Running, Workspace } from './helpers.js';

describe('run: SIGINT', () => {
  let ws: Workspace;
  let run: Running | undefined;
  afterAll(async () => {
    stopIfRunning(run);
    await ws?.remove();
  });

  test('exits 130 within seconds, records `interrupted`, and a re-run reuses the finished stage', async () => {
    ws = await workspace('sigint', [
      { id: 'fast', uses: 'test/hash-chain', with: { label: 'fast', rounds: 2000 } },
      { id: 'slow', uses: 'test/slow', with: { seconds: 30 } }, // needs `fast`
    ]);
    const out = ws.out('interrupted');
    const cli = startCli(['run', ws.recipe, '--out', out, '--cache-dir', ws.cache, '--jobs', '2'], ws.dir);
    run = cli; // for afterAll, if the test fails while it runs
    await waitForFile(join(out, '.work', 'slow', 'outputs', 'data', 'started'), 30_000, () => cli.stdout() + cli.stderr());
    const signalledAt = performance.now();
    cli.child.kill('SIGINT');
    const exit = await cli.exited;
    const stopMs = Math.round(performance.now() - signalledAt);

    await report('sigint', { stopMs });
    expect([exit.code, exit.signal]).toEqual([130, null]);
    expect({ stopMs, within: stopMs < 5000 }).toMatchObject({ within: true });
    expect(cli.stderr()).toContain('interrupted: stopping running stages');

    const record = await readRecord(out);
    expect(record.status).toBe('interrupted');
    expect(statuses(record)).toEqual({ fast: 'ran', slow: 'cancelled' });
    expect(record.artifacts).toEqual({});
    const finished = (await readLog(out)).filter((e) => e.event === 'run-finished');
    expect(finished.map((e) => e.status)).toEqual(['interrupted']);
    expect(existsSync(join(out, '.work'))).toBe(false);

    const again = await runRecipe(ws, 'again', ['--jobs', '2', '--set', 'stages.slow.with.seconds=0.2']);
    expect(again.cli.code).toBe(0);
    expect(again.record.status).toBe('succeeded');
    expect(statuses(again.record)).toEqual({ fast: 'cached', slow: 'ran' });
    expect(node(again.record, 'fast').key).toBe(node(record, 'fast').key);
  });
});
