/**
 * Issue "Foundation 2/2" (f): independent branches run at the same time in
 * separate worker threads. With --jobs 2 the run's wall time is well under
 * the sum of its two nodes' times; with --jobs 1 (the control) it is not.
 */
import { join } from 'node:path';
import type { RunRecord } from '../../src/run/run-record.js';
import { node, report, roundsFor, runRecipe, statuses, workspace } from './helpers.js';
import type { LogEvent, Workspace } from './helpers.js';

describe('run: two independent branches', () => {
  let ws: Workspace;
  afterAll(async () => ws?.remove());

  const sum = (r: RunRecord) => node(r, 'p').durationMs + node(r, 'q').durationMs;
  /** Log order of start/finish events, e.g. ['started p', 'started q', 'finished q', 'finished p']. */
  const order = (log: LogEvent[]) => log.filter((e) => e.event === 'node-started' || e.event === 'node-finished').map((e) => `${e.event.slice(5)} ${e.node}`);

  test('run in parallel with --jobs 2 (wall < 0.75 x sum of node times), one after the other with --jobs 1', async () => {
    // About 1.2 s of hashing each (plus worker start-up: ~1.5 s per node alone).
    const rounds = roundsFor(1200);
    ws = await workspace('parallel', [
      { id: 'p', uses: 'test/hash-chain', with: { label: 'p', rounds }, needs: [] },
      { id: 'q', uses: 'test/hash-chain', with: { label: 'q', rounds }, needs: [] },
    ]);

    const par = await runRecipe(ws, 'jobs2', ['--jobs', '2'], { cacheDir: join(ws.dir, 'cache-jobs2') });
    const ser = await runRecipe(ws, 'jobs1', ['--jobs', '1'], { cacheDir: join(ws.dir, 'cache-jobs1') });
    for (const r of [par, ser]) {
      expect(r.cli.code).toBe(0);
      expect(statuses(r.record)).toEqual({ p: 'ran', q: 'ran' });
    }
    expect([par.record.jobs, ser.record.jobs]).toEqual([2, 1]);
    // Same work, same bytes, whatever the concurrency.
    expect(node(par.record, 'p').outputs.data!.digest).toBe(node(ser.record, 'p').outputs.data!.digest);

    // jobs 2: both started before either finished; jobs 1: strictly one after the other.
    expect(order(par.log).slice(0, 2).sort()).toEqual(['started p', 'started q']);
    expect(order(ser.log)).toEqual(['started p', 'finished p', 'started q', 'finished q']);

    const numbers = {
      jobs2WallMs: par.record.durationMs,
      jobs2SumMs: sum(par.record),
      jobs2Ratio: +(par.record.durationMs / sum(par.record)).toFixed(2),
      jobs1WallMs: ser.record.durationMs,
      jobs1SumMs: sum(ser.record),
      jobs1Ratio: +(ser.record.durationMs / sum(ser.record)).toFixed(2),
      rounds,
    };
    await report('parallel', numbers);
    // Each branch did real work (>= ~1 s alone), so the ratio is not start-up noise.
    expect({ ...numbers, nodesLongEnough: node(ser.record, 'p').durationMs >= 700 && node(ser.record, 'q').durationMs >= 700 }).toMatchObject({ nodesLongEnough: true });
    expect({ ...numbers, parallel: par.record.durationMs < 0.75 * sum(par.record) }).toMatchObject({ parallel: true });
    // The control: run one at a time, the same measure is at least the sum.
    expect({ ...numbers, serial: ser.record.durationMs >= 0.95 * sum(ser.record) }).toMatchObject({ serial: true });
  });
});
