/**
 * Issue 14: two concurrent runs of one recipe on one cache. Before, both
 * computed every node and the loser's run.json paired its own metrics with
 * the winner's artifact digests. Now a node is computed once (a lock per key
 * in the cache); the other run waits, takes the published entry as a hit, and
 * both run.json files record the same metrics and artifacts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { node, readLog, readRecord, REPO_ROOT, startCli, stopIfRunning, workspace } from './helpers.js';
import type { Running, Workspace } from './helpers.js';
import { runCli } from '../cli/run-cli.js';

const COUNTED_PLUGIN = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'counted.mjs');

describe('run: concurrent runs on one cache', () => {
  let ws: Workspace;
  const runs: Running[] = [];
  afterAll(async () => {
    for (const r of runs) stopIfRunning(r);
    await ws?.remove();
  });

  test('compute each node once and record the same metrics and digests', async () => {
    ws = await workspace('single-flight', []);
    const log = join(ws.dir, 'executions.log');
    await writeFile(log, '');
    await writeFile(
      ws.recipe,
      stringify({
        version: 1,
        name: 'single-flight',
        plugins: [COUNTED_PLUGIN],
        stages: [
          { id: 'a', uses: 'test/counted', with: { label: 'a', log, ms: 1500 } },
          { id: 'b', uses: 'test/counted', with: { label: 'b', log, ms: 300 } },
        ],
      }),
    );
    const start = (name: string) => startCli(['run', ws.recipe, '--out', ws.out(name), '--cache-dir', ws.cache, '--jobs', '1'], ws.dir);
    runs.push(start('one'), start('two'));
    const exits = await Promise.all(runs.map((r) => r.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);

    const executions = (await readFile(log, 'utf8')).trim().split('\n').map((l) => l.split(' ')[0]).sort();
    expect(executions).toEqual(['a', 'b']);

    const [one, two] = [await readRecord(ws.out('one')), await readRecord(ws.out('two'))];
    for (const id of ['a', 'b']) {
      expect(node(two, id).metrics).toEqual(node(one, id).metrics);
      expect(node(two, id).outputs.data?.digest).toBe(node(one, id).outputs.data?.digest);
    }
    // One run computed `a`, the other waited for it and said so.
    expect([node(one, 'a').status, node(two, 'a').status].sort()).toEqual(['cached', 'ran']);
    const waiter = node(one, 'a').status === 'cached' ? 'one' : 'two';
    const waited = (await readLog(ws.out(waiter))).filter((e) => e.event === 'node-log' && String(e.message).startsWith('waiting for another run computing a ('));
    expect(waited).toHaveLength(1);
  });

  test('a lock left by a killed run (dead pid on this host) is taken over', async () => {
    const key = node(await readRecord(ws.out('one')), 'a').key!;
    expect((await runCli(['cache', 'clear', '--cache-dir', ws.cache], { cwd: ws.dir })).code).toBe(0);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await mkdir(join(ws.cache, 'locks'), { recursive: true });
    await writeFile(join(ws.cache, 'locks', `${key}.lock`), JSON.stringify({ pid: Number(dead.stdout), hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    const run = startCli(['run', ws.recipe, '--out', ws.out('after-kill'), '--cache-dir', ws.cache, '--jobs', '1'], ws.dir);
    runs.push(run);
    expect((await run.exited).code).toBe(0);
    expect(node(await readRecord(ws.out('after-kill')), 'a').status).toBe('ran');
    expect(existsSync(join(ws.cache, 'locks', `${key}.lock`))).toBe(false);
  });
});
