/**
 * Issue 20: a recipe's nodes run on `modelpress worker` processes through
 * BullMQ on a real redis-server (127.0.0.1, a free port; no mocks), sharing
 * one cache directory. Workers and submitters are the real CLI in child
 * processes; stages are the fixture plugin's real work.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CacheStore } from '../../../src/cache/index.js';
import type { RunRecord } from '../../../src/run/run-record.js';
import { node, readRecord, recipeYaml, REPO_ROOT, runRecipe, startCli, stopIfRunning, workspace } from '../helpers.js';
import type { Running, Workspace } from '../helpers.js';
import { describeWithRedis, startRedis } from './redis-server.js';
import type { RedisServer } from './redis-server.js';

const COUNTED_PLUGIN = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'counted.mjs');

// Real processes on a shared 2-core machine: generous per test (each takes seconds when quiet).
const T = 90_000;

describeWithRedis('run --queue: nodes on queue workers', () => {
  let ws: Workspace;
  let redis: RedisServer | undefined;
  const children: Running[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) stopIfRunning(c);
    await redis?.kill();
    redis = undefined;
    await ws?.remove();
  });

  /** A `modelpress worker` with its own scratch dir `<ws>/<name>`, resolved once it takes jobs. */
  async function startWorker(name: string, extra: string[] = []): Promise<Running & { workDir: string }> {
    const workDir = join(ws.dir, name);
    const w = startCli(['worker', '--queue', redis!.url, '--cache-dir', ws.cache, '--work-dir', workDir, '--lock-ms', '1000', ...extra], ws.dir);
    children.push(w);
    const until = Date.now() + 20_000;
    while (!w.stderr().includes(' takes jobs from ')) {
      if (w.child.exitCode !== null || Date.now() > until) throw new Error(`worker ${name} did not start:\n${w.stderr()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return { ...w, workDir };
  }

  function submit(outName: string, extra: string[] = []): Running {
    const r = startCli(['run', ws.recipe, '--queue', redis!.url, '--out', ws.out(outName), '--cache-dir', ws.cache, ...extra], ws.dir);
    children.push(r);
    return r;
  }

  async function cacheEntries(): Promise<{ ok: number; corrupt: number }> {
    const list = await new CacheStore({ dir: ws.cache }).list();
    // list() reads manifests only; get() re-verifies every byte of every entry.
    const store = new CacheStore({ dir: ws.cache });
    let ok = 0;
    let corrupt = 0;
    for (const e of list) ((await store.get(e.key)).status === 'hit' ? ok++ : corrupt++);
    return { ok, corrupt };
  }

  /** Polls for a `started` marker of test/slow under any of `dirs`; returns the dir it appeared in. */
  async function waitForStarted(dirs: string[], timeoutMs: number): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const d of dirs) {
        for (const key of await readdir(d).catch(() => [] as string[])) {
          if (existsSync(join(d, key, 'outputs', 'data', 'started'))) return d;
        }
      }
      if (Date.now() > until) throw new Error(`no stage started under ${dirs.join(', ')} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const digests = (r: RunRecord) => Object.fromEntries(r.nodes.map((n) => [n.id, n.outputs.data?.digest]));

  test('a 3-way matrix on two workers gives the digests of a local run; run.json names the worker of each node', async () => {
    ws = await workspace('dist-matrix', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 3000 } },
      { id: 'b', uses: 'test/hash-chain', matrix: { label: ['x', 'y', 'z'] }, with: { label: '${matrix.label}', rounds: 5000 } },
    ]);
    const local = await runRecipe(ws, 'local', ['--jobs', '2'], { cacheDir: join(ws.dir, 'local-cache') });
    expect(local.cli.code).toBe(0);

    redis = await startRedis();
    const workers = [await startWorker('w1'), await startWorker('w2')];
    const run = submit('queued');
    const exit = await run.exited;
    expect({ code: exit.code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    const queued = await readRecord(ws.out('queued'));
    expect(queued.queue).toBe(redis.url);
    expect(digests(queued)).toEqual(digests(local.record));
    expect(queued.nodes.map((n) => n.status)).toEqual(['ran', 'ran', 'ran', 'ran']);
    const ran = new Set(queued.nodes.map((n) => n.worker?.id));
    const ids = workers.map((w) => `${hostname()}:${w.child.pid}`);
    expect([...ran].every((id) => ids.includes(id!))).toBe(true);
    // Three ready nodes and two one-at-a-time workers: both took work.
    expect(ran.size).toBe(2);
    for (const n of queued.nodes) expect(n.worker!.queueWaitMs).toBeGreaterThanOrEqual(0);
    expect(await cacheEntries()).toEqual({ ok: 4, corrupt: 0 });

    // A second submission finds every node in the cache and enqueues nothing.
    const again = submit('again');
    expect((await again.exited).code).toBe(0);
    const cached = await readRecord(ws.out('again'));
    expect(cached.nodes.map((n) => [n.status, n.worker])).toEqual([...Array(4)].map(() => ['cached', undefined]));
  }, T);

  test('kill -9 of the worker running a node: the other worker completes it, one intact entry per node', async () => {
    ws = await workspace('dist-kill', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 1000 } },
      { id: 'slow', uses: 'test/slow', with: { seconds: 2 } },
    ]);
    redis = await startRedis();
    const workers = [await startWorker('w1'), await startWorker('w2')];
    const run = submit('killed');
    const victimDir = await waitForStarted(workers.map((w) => w.workDir), 30_000);
    const victim = workers.find((w) => w.workDir === victimDir)!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    const exit = await run.exited;
    expect({ code: exit.code, stderr: run.stderr() }).toEqual({ code: 0, stderr: '' });
    const record = await readRecord(ws.out('killed'));
    expect(node(record, 'slow').status).toBe('ran');
    expect(node(record, 'slow').worker!.id).toBe(`${hostname()}:${survivor.child.pid}`);
    expect(await cacheEntries()).toEqual({ ok: 2, corrupt: 0 });
  }, T);

  test('two submitters of one recipe at once: each node runs once, both records agree', async () => {
    ws = await workspace('dist-two', []);
    const log = join(ws.dir, 'executions.log');
    await writeFile(log, '');
    await writeFile(
      ws.recipe,
      stringify({
        version: 1,
        name: 'dist-two',
        plugins: [COUNTED_PLUGIN],
        stages: [
          { id: 'a', uses: 'test/counted', with: { label: 'a', log, ms: 800 } },
          { id: 'b', uses: 'test/counted', matrix: { label: ['x', 'y'] }, with: { label: '${matrix.label}', log, ms: 800 } },
        ],
      }),
    );
    redis = await startRedis();
    await startWorker('w1');
    await startWorker('w2');
    const runs = [submit('one'), submit('two')];
    const exits = await Promise.all(runs.map((r) => r.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    const executions = (await readFile(log, 'utf8')).trim().split('\n').map((l) => l.split(' ')[0]).sort();
    expect(executions).toEqual(['a', 'x', 'y']);
    const [one, two] = [await readRecord(ws.out('one')), await readRecord(ws.out('two'))];
    expect(digests(two)).toEqual(digests(one));
    for (const n of one.nodes) expect(node(two, n.id).metrics).toEqual(n.metrics);
  }, T);

  test('Redis killed mid-run: the run fails cleanly (exit 1, phase queue), the cache stays intact, a rerun resumes', async () => {
    ws = await workspace('dist-redis-lost', [
      { id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 1000 } },
      { id: 'slow', uses: 'test/slow', with: { seconds: 2 } },
    ]);
    redis = await startRedis();
    const w = await startWorker('w1', ['--redis-lost-ms', '500']);
    const run = submit('lost', ['--redis-lost-ms', '500']);
    await waitForStarted([w.workDir], 30_000);
    await redis.kill();
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    const record = await readRecord(ws.out('lost'));
    expect(record.status).toBe('failed');
    expect(node(record, 'a').status).toBe('ran');
    expect(node(record, 'slow').status).toBe('failed');
    expect(node(record, 'slow').error).toMatchObject({ phase: 'queue' });
    expect(node(record, 'slow').error!.message).toContain(`lost the connection to Redis at ${redis.url}`);
    // The worker gives up on Redis too, and says why.
    expect((await w.exited).code).toBe(1);
    expect(w.stderr()).toContain(`modelpress worker: lost the connection to Redis at ${redis.url}`);
    const before = await cacheEntries();
    expect(before.corrupt).toBe(0);

    redis = await startRedis();
    await startWorker('w2');
    const rerun = submit('rerun');
    expect((await rerun.exited).code).toBe(0);
    const resumed = await readRecord(ws.out('rerun'));
    expect(node(resumed, 'a').status).toBe('cached');
    expect(node(resumed, 'slow').status).toBe(before.ok === 2 ? 'cached' : 'ran');
    expect(await cacheEntries()).toEqual({ ok: 2, corrupt: 0 });
  }, T);

  test('a worker whose stage code differs from the submitter\'s refuses the node; nothing is cached', async () => {
    ws = await workspace('dist-version', []);
    const plugin = join(ws.dir, 'stage.mjs');
    const source = await readFile(join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'work.mjs'), 'utf8');
    // Outside the repo `modelpress/plugin` does not resolve by self-reference: point at the built file.
    await writeFile(plugin, source.replace("from 'modelpress/plugin'", `from ${JSON.stringify(join(REPO_ROOT, 'dist', 'plugin.js'))}`));
    await writeFile(ws.recipe, recipeYaml('dist-version', [{ id: 'a', uses: 'test/hash-chain', with: { label: 'a', rounds: 1000 } }]).replace(JSON.stringify(join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'work.mjs')).slice(1, -1), './stage.mjs'));
    redis = await startRedis();
    const run = submit('refused');
    // Enqueued (planned with version 1) before any worker exists; the worker's machine has version 2.
    const until = Date.now() + 20_000;
    while (!existsSync(join(ws.out('refused'), 'run.log.jsonl')) || !(await readFile(join(ws.out('refused'), 'run.log.jsonl'), 'utf8')).includes('"node-started"')) {
      if (Date.now() > until) throw new Error(`node not enqueued:\n${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const edited = (await readFile(plugin, 'utf8')).replace("name: 'test/hash-chain',\n  version: '1'", "name: 'test/hash-chain',\n  version: '2'");
    expect(edited).toContain("version: '2'");
    await writeFile(plugin, edited);
    const w = await startWorker('w1');
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    const a = node(await readRecord(ws.out('refused')), 'a');
    expect(a.status).toBe('failed');
    expect(a.error!.phase).toBe('load');
    expect(a.error!.cause!.message).toMatch(
      new RegExp(`^worker ${hostname()}:${w.child.pid} refuses node a: stage \`test/hash-chain\` is version 2 in the code on disk but was version 1 when this run was planned`),
    );
    expect(await cacheEntries()).toEqual({ ok: 0, corrupt: 0 });
  });
});
