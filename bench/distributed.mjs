#!/usr/bin/env node
/**
 * Issue 20's bench: the same sweep (a 3-way matrix of test/hash-chain nodes,
 * each a few seconds of CPU, behind one root node) run locally with --jobs 2
 * and through Redis on two `modelpress worker --jobs 1` processes on this
 * machine. Reports wall times, the queue's overhead as a share of the local
 * wall time (goal: <= 5%), and per-node queue latency (enqueue to start).
 *
 *   npm run build && node bench/distributed.mjs [--seconds-per-node 5]
 *
 * Needs redis-server (Debian: apt-get install redis-server). Run on a quiet
 * machine: other load skews both timings. Writes bench/results/distributed.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'modelpress.js');
const PLUGIN = join(ROOT, 'test', 'fixtures', 'plugins', 'work.mjs');
const flag = process.argv.indexOf('--seconds-per-node');
const seconds = flag === -1 ? 5 : Number(process.argv[flag + 1]);
if (!(seconds > 0)) throw new Error(`Expected --seconds-per-node to be a number > 0, got ${process.argv[flag + 1]}`);

function roundsFor(ms) {
  const block = Buffer.alloc(16 * 1024, 7);
  let s = createHash('sha256').update('c').digest();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 500) {
    for (let i = 0; i < 200; i++) s = createHash('sha256').update(s).update(block).digest();
    n += 200;
  }
  return Math.round((n / (performance.now() - t0)) * ms);
}

const freePort = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); }); });
const cli = (args, cwd) => new Promise((res) => {
  const t0 = performance.now();
  const c = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  c.on('close', (code) => res({ code, err, ms: performance.now() - t0 }));
});

if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server not found: apt-get install redis-server');
const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
const dir = await mkdtemp(join(tmpdir(), 'mp-bench-dist-'));
const rounds = roundsFor(seconds * 1000);
const recipe = join(dir, 'recipe.yaml');
await writeFile(recipe, JSON.stringify({
  version: 1, name: 'bench-distributed', plugins: [PLUGIN],
  stages: [
    { id: 'root', uses: 'test/hash-chain', with: { label: 'root', rounds: Math.round(rounds / 5) } },
    { id: 'sweep', uses: 'test/hash-chain', matrix: { label: ['a', 'b', 'c', 'd'] }, with: { label: '${matrix.label}', rounds } },
  ],
}));

const local = await cli(['run', recipe, '--jobs', '2', '--cache-dir', join(dir, 'cache-local'), '--out', join(dir, 'local')], dir);
if (local.code !== 0) throw new Error(`local run failed:\n${local.err}`);

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const url = `redis://127.0.0.1:${port}`;
const workers = [1, 2].map((i) => spawn(process.execPath, [BIN, 'worker', '--queue', url, '--cache-dir', join(dir, 'cache-queue'), '--work-dir', join(dir, `w${i}`)], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 3000));
const queued = await cli(['run', recipe, '--queue', url, '--cache-dir', join(dir, 'cache-queue'), '--out', join(dir, 'queued')], dir);
for (const w of workers) w.kill('SIGTERM');
redis.kill('SIGTERM');
if (queued.code !== 0) throw new Error(`queued run failed:\n${queued.err}`);

const rec = JSON.parse(await readFile(join(dir, 'queued', 'run.json'), 'utf8'));
const localRec = JSON.parse(await readFile(join(dir, 'local', 'run.json'), 'utf8'));
const same = rec.nodes.every((n) => localRec.nodes.find((m) => m.id === n.id)?.outputs.data?.digest === n.outputs.data?.digest);
const overhead = (queued.ms - local.ms) / local.ms;
const lines = [
  '# Distributed runs: local --jobs 2 vs two queue workers',
  '',
  `Recorded ${new Date().toISOString()} by \`node bench/distributed.mjs --seconds-per-node ${seconds}\` (one root node, then a 4-way matrix; Redis and both workers on this machine).`,
  '',
  '| run | wall s |',
  '| --- | --- |',
  `| local, --jobs 2 | ${(local.ms / 1000).toFixed(2)} |`,
  `| --queue, 2 workers x --jobs 1 | ${(queued.ms / 1000).toFixed(2)} |`,
  '',
  `Overhead: ${(overhead * 100).toFixed(1)}% of the local wall time (goal <= 5%): ${overhead <= 0.05 ? 'met' : 'MISSED'}. Artifact digests identical to the local run: ${same ? 'yes' : 'NO'}.`,
  '',
  // A queued node's durationMs runs from enqueue to result; the wait is queueWaitMs.
  '| node | worker | queue latency ms (enqueue to start) | enqueue to result s | on the worker s |',
  '| --- | --- | ---: | ---: | ---: |',
  ...rec.nodes.map((n) => `| ${n.id} | ${n.worker?.id ?? '-'} | ${n.worker?.queueWaitMs ?? '-'} | ${(n.durationMs / 1000).toFixed(2)} | ${((n.durationMs - (n.worker?.queueWaitMs ?? 0)) / 1000).toFixed(2)} |`),
  '',
  `Load average before / after: ${loadBefore} / ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
  '',
];
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(join(ROOT, 'bench', 'results', 'distributed.md'), lines.join('\n'));
process.stdout.write(lines.join('\n'));
await rm(dir, { recursive: true, force: true });
