/**
 * Issue 14: SIGTERM (what `kill`, systemd, Docker and CI runners send) was
 * not handled: the process died with 143 and no run.json. It now stops the
 * run like Ctrl-C does: run.json records `interrupted`, exit code 143.
 */
import { join } from 'node:path';
import { readRecord, startCli, statuses, stopIfRunning, waitForFile, workspace } from './helpers.js';
import type { Running, Workspace } from './helpers.js';

describe('run: SIGTERM', () => {
  let ws: Workspace;
  let run: Running | undefined;
  afterAll(async () => {
    stopIfRunning(run);
    await ws?.remove();
  });

  test('records `interrupted` in run.json and exits 143', async () => {
    ws = await workspace('sigterm', [{ id: 'slow', uses: 'test/slow', with: { seconds: 30 } }]);
    const out = ws.out('terminated');
    const cli = startCli(['run', ws.recipe, '--out', out, '--cache-dir', ws.cache], ws.dir);
    run = cli;
    await waitForFile(join(out, '.work', 'slow', 'outputs', 'data', 'started'), 30_000, () => cli.stdout() + cli.stderr());
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect([exit.code, exit.signal]).toEqual([143, null]);
    expect(cli.stderr()).toContain('terminated (SIGTERM): stopping running stages');
    const record = await readRecord(out);
    expect(record.status).toBe('interrupted');
    expect(statuses(record)).toEqual({ slow: 'cancelled' });
  });
});
