/**
 * Issue "Foundation 2/2" (g): a failing stage fails the run (exit 1) and
 * skips only what depends on it; independent branches finish. The error is
 * wrapped with the stage id, plugin and phase, and keeps its cause.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_PLUGIN, node, runRecipe, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: a failing stage', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  test('skips only its dependents; the message names stage, plugin and error; the cause is kept', async () => {
    //   a -> fail -> c
    //   b -> d
    ws = await workspace('failure', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a' } },
      { id: 'fail', uses: 'test/fail', needs: ['a'] },
      { id: 'c', uses: 'test/hash-chain', with: { label: 'c' }, needs: ['fail'] },
      { id: 'b', uses: 'test/hash-chain', with: { label: 'b' }, needs: [] },
      { id: 'd', uses: 'test/hash-chain', with: { label: 'd' }, needs: ['b'] },
    ]);
    const r = await runRecipe(ws, 'run', ['--jobs', '2']);
    expect(r.cli.code).toBe(1);
    expect(r.record.status).toBe('failed');
    expect(statuses(r.record)).toEqual({ a: 'ran', fail: 'failed', c: 'skipped', b: 'ran', d: 'ran' });

    const message = `stage fail (test/fail from ${WORK_PLUGIN}) failed during run: boom from fixture`;
    expect(r.cli.stdout).toContain(`  FAILED ${message}\n         caused by: Error: root cause detail\n`);
    expect(r.cli.stdout).toContain('  skip   c  (fail failed)\n');
    expect(r.cli.stdout).toContain('failed: 3 ran, 0 cached, 1 failed, 1 skipped');

    const failed = node(r.record, 'fail');
    expect(failed.plugin).toBe(WORK_PLUGIN);
    expect(failed.error).toMatchObject({
      phase: 'run',
      message,
      cause: { name: 'Error', message: 'boom from fixture', cause: { name: 'Error', message: 'root cause detail' } },
    });
    expect(failed.error!.cause!.stack).toContain('work.mjs');
    expect(node(r.record, 'c').error).toBeNull();

    // The log file has the same story.
    const events = r.log.filter((e) => e.event === 'node-failed' || e.event === 'node-skipped');
    expect(events.map((e) => [e.event, e.node, e.phase ?? e.because])).toEqual([
      ['node-failed', 'fail', 'run'],
      ['node-skipped', 'c', 'fail failed'],
    ]);
    expect(events[0]).toMatchObject({ message, cause: { message: 'boom from fixture', cause: { message: 'root cause detail' } } });

    // Only the finished sink's artifacts are delivered.
    expect(r.record.artifacts).toEqual({ d: { data: join('artifacts', 'd', 'data') } });
    expect(existsSync(join(r.outDir, 'artifacts', 'd', 'data', 'result.json'))).toBe(true);
    expect(existsSync(join(r.outDir, 'artifacts', 'c'))).toBe(false);
  });
});
