/**
 * Issue "Foundation 2/2" (h): a stage that exhausts its worker's heap
 * (--worker-memory-mb) fails alone, in phase `worker`; the CLI process and
 * an independent branch are unaffected.
 */
import { join } from 'node:path';
import { WORK_PLUGIN, node, runRecipe, statuses, workspace } from './helpers.js';
import type { Workspace } from './helpers.js';

describe('run: a worker runs out of memory', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  test('fails only its stage (phase worker, says memory) while an independent branch succeeds', async () => {
    ws = await workspace('oom', [
      { id: 'hog', uses: 'test/oom', needs: [] },
      { id: 'x', uses: 'test/hash-chain', with: { label: 'x', rounds: 5000 }, needs: [] },
      { id: 'y', uses: 'test/hash-chain', with: { label: 'y' }, needs: ['x'] },
    ]);
    const r = await runRecipe(ws, 'run', ['--jobs', '2', '--worker-memory-mb', '64']);
    expect(r.cli.code).toBe(1);
    expect(r.cli.stderr).toBe(''); // no V8 fatal error from the CLI's own process
    expect(r.record.status).toBe('failed');
    expect(statuses(r.record)).toEqual({ hog: 'failed', x: 'ran', y: 'ran' });

    const hog = node(r.record, 'hog');
    expect(hog.error!.phase).toBe('worker');
    expect(hog.error!.message).toMatch(
      new RegExp(`^stage hog \\(test/oom from ${WORK_PLUGIN.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) failed during worker: worker ran out of memory \\(limit 64 MB\\): `),
    );
    // It died of the limit, not of the fixture's safety cap.
    expect(hog.error!.message).not.toContain('retained');
    expect(r.cli.stdout).toContain('  FAILED stage hog (test/oom from');
    expect(r.cli.stdout).toContain('failed: 2 ran, 0 cached, 1 failed, 0 skipped');
    expect(r.record.artifacts).toEqual({ y: { data: join('artifacts', 'y', 'data') } });
  });
});
