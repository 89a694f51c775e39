#!/usr/bin/env node
/**
 * Framework overhead: the same training, one epoch of the MLP 784-300-100-10
 * over the 60,000 MNIST training images (Adam, learning rate 1e-3, batch
 * 128, seed 1, wasm backend), run
 *
 *   A. as a modelpress `train` stage: `modelpress run` on a one-stage recipe
 *      with a fresh cache dir (the stage's metrics.trainMs, and the whole
 *      process: CLI start, recipe checks, planning, worker thread, data
 *      loading, model save, cache write, run record);
 *   B. as a plain tfjs loop in its own process: tfjs loaded through the
 *      project's loadTf (same wasm kernels), the same data loader and model
 *      builder, optimizer.minimize per batch over the same seeded batches.
 *
 * Each repetition runs A and B back to back, in the order A B, then B A, and
 * so on (so slow drift of the machine's load falls on both alike). The
 * machine is shared and noisy, so the verdict (train stage / plain loop;
 * target <= 1.05) is the median over repetitions of the per-repetition ratio
 * A_i / B_i: the two runs of a pair saw the same machine. The ratio of the
 * medians and of the fastest runs (the least disturbed) are shown beside it.
 * Both compute the same thing: their final epoch losses are printed side by
 * side.
 *
 *   npm run build && node bench/overhead.mjs [--reps N] [--limit N] [--worker] [--out FILE]
 *
 * --limit N trains on the first N images only (for testing the script).
 * --worker adds C: the plain loop in a worker thread of its own process, as
 * modelpress runs stages, to tell the worker's cost from the framework's.
 * Writes bench/results/overhead.md and .json (or --out FILE and its .json).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { args, loadTraining, opt, root } from './lib/cli.mjs';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';

const SEED = 1;
const BATCH = 128;
const LR = 0.001;

// ---------------------------------------------------------------- B: the plain loop (child)

async function plainLoop(limit) {
  const { loadTf, registerWasmTrainingKernels, buildModel, mnistLoader, batches, seededRandom } = await loadTraining();
  const tf = await loadTf('wasm', { beforeReady: (t) => registerWasmTrainingKernels(t) });
  const ds = await mnistLoader.load({ split: 'train', flatten: true, ...(limit ? { limit } : {}) }, { baseDir: root, name: 'train' });
  const model = buildModel(tf, { arch: 'mlp', units: [300, 100] }, SEED);
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const t0 = performance.now();
  const optimizer = tf.train.adam(LR);
  let lossSum = 0;
  for (const idx of batches(ds, BATCH, { shuffle: true, random: seededRandom(SEED + 1) })) {
    const x = new Float32Array(idx.length * size);
    const y = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      x.set(ds.x.subarray(idx[i] * size, (idx[i] + 1) * size), i * size);
      y[i] = ds.y[idx[i]];
    }
    const xs = tf.tensor(x, [idx.length, ...ds.shape]);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), ds.classes));
    const loss = optimizer.minimize(() => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true })).mean(), true);
    lossSum += (await loss.data())[0] * idx.length;
    tf.dispose([xs, ys, loss]);
  }
  optimizer.dispose();
  const ms = performance.now() - t0;
  return { ms, loss: lossSum / ds.count, images: ds.count, backend: tf.getBackend() };
}

if (!isMainThread) {
  // C: the plain loop in a worker thread, as modelpress runs stages.
  parentPort.postMessage(await plainLoop(workerData.limit));
} else if (!args[0]?.startsWith('--plain')) {
  await main();
} else if (args[0] === '--plain') {
  process.stdout.write(JSON.stringify(await plainLoop(Number(args[1]))));
  process.exit(0);
} else if (args[0] === '--plain-worker') {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { limit: Number(args[1]) } });
  const res = await new Promise((ok, ko) => {
    worker.once('message', ok);
    worker.once('error', ko);
  });
  process.stdout.write(JSON.stringify(res));
  process.exit(0);
}

// ---------------------------------------------------------------- the parent

async function main() {
  const reps = Number(opt('--reps', '5'));
  const limit = Number(opt('--limit', '0'));
  const out = opt('--out', join(root, 'bench', 'results', 'overhead.md'));
  const withWorker = args.includes('--worker');
  if (!(reps >= 1)) throw new Error('--reps must be >= 1');

  function run(argv) {
    return new Promise((resolveRun, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolveRun({ code, wallMs: performance.now() - t0, stdout, stderr }));
    });
  }

  const recipe = [
    'version: 1',
    'name: overhead-mlp',
    `seed: ${SEED}`,
    'model:',
    '  build: { arch: mlp, units: [300, 100] }',
    'data:',
    `  train: { uses: mnist, split: train, flatten: true${limit ? `, limit: ${limit}` : ''} }`,
    'stages:',
    '  - id: train',
    '    uses: train',
    `    with: { data: train, epochs: 1, batchSize: ${BATCH}, optimizer: adam, learningRate: ${LR} }`,
    '',
  ].join('\n');

  async function stageRun(work) {
    const dir = mkdtempSync(join(work, 'a-'));
    const file = join(dir, 'recipe.yaml');
    writeFileSync(file, recipe);
    const r = await run([join(root, 'bin', 'modelpress.js'), 'run', file, '--out', join(dir, 'run'), '--cache-dir', join(dir, 'cache'), '--backend', 'wasm', '--jobs', '1']);
    if (r.code !== 0) throw new Error(`modelpress run exited ${r.code}:\n${r.stdout}${r.stderr}`);
    const record = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
    const node = record.nodes.find((n) => n.id === 'train');
    if (node.status !== 'ran') throw new Error(`train did not run (${node.status}): the cache dir was not fresh`);
    rmSync(dir, { recursive: true, force: true });
    return { trainMs: node.metrics.trainMs, durationMs: node.durationMs, wallMs: r.wallMs, loss: node.metrics.loss, versions: record.versions };
  }

  async function plainRun(mode = '--plain') {
    const r = await run([fileURLToPath(import.meta.url), mode, String(limit)]);
    if (r.code !== 0) throw new Error(`plain loop exited ${r.code}:\n${r.stderr}`);
    const res = JSON.parse(r.stdout);
    return { loopMs: res.ms, wallMs: r.wallMs, loss: res.loss, images: res.images, backend: res.backend };
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };

  const loadStart = loadavg()[0];
  const work = mkdtempSync(join(tmpdir(), 'modelpress-overhead-'));
  const A = [];
  const B = [];
  const C = [];
  try {
    for (let i = 0; i < reps; i++) {
      const runA = async () => {
        process.stderr.write(`rep ${i + 1}/${reps}: A (modelpress train stage)... `);
        const a = await stageRun(work);
        A.push(a);
        process.stderr.write(`trainMs ${(a.trainMs / 1000).toFixed(1)} s, process ${(a.wallMs / 1000).toFixed(1)} s\n`);
      };
      const runB = async () => {
        process.stderr.write(`rep ${i + 1}/${reps}: B (plain tfjs loop)... `);
        const b = await plainRun();
        B.push(b);
        process.stderr.write(`loop ${(b.loopMs / 1000).toFixed(1)} s, process ${(b.wallMs / 1000).toFixed(1)} s\n`);
      };
      if (i % 2 === 0) {
        await runA();
        await runB();
      } else {
        await runB();
        await runA();
      }
      if (withWorker) {
        process.stderr.write(`rep ${i + 1}/${reps}: C (plain loop in a worker thread)... `);
        const c = await plainRun('--plain-worker');
        C.push(c);
        process.stderr.write(`loop ${(c.loopMs / 1000).toFixed(1)} s, process ${(c.wallMs / 1000).toFixed(1)} s\n`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const m = {
    trainMs: median(A.map((a) => a.trainMs)),
    loopMs: median(B.map((b) => b.loopMs)),
    stageWallMs: median(A.map((a) => a.wallMs)),
    plainWallMs: median(B.map((b) => b.wallMs)),
    ...(withWorker ? { workerLoopMs: median(C.map((c) => c.loopMs)), workerWallMs: median(C.map((c) => c.wallMs)) } : {}),
  };
  // The verdict: median of the paired ratios (see the header comment).
  const pairedTrain = A.map((a, i) => a.trainMs / B[i].loopMs);
  const pairedWall = A.map((a, i) => a.wallMs / B[i].wallMs);
  const trainRatio = median(pairedTrain);
  const wallRatio = median(pairedWall);
  const ratioOfMedians = { train: m.trainMs / m.loopMs, wall: m.stageWallMs / m.plainWallMs };
  const fastest = (xs) => Math.min(...xs);
  const ratioOfFastest = {
    train: fastest(A.map((a) => a.trainMs)) / fastest(B.map((b) => b.loopMs)),
    wall: fastest(A.map((a) => a.wallMs)) / fastest(B.map((b) => b.wallMs)),
  };
  const target = 1.05;
  const images = B[0].images;
  const mach = machine({ versions: A[0].versions });
  const sameLoss = A.every((a) => Math.abs(a.loss - B[0].loss) <= 1e-6 * Math.max(1, Math.abs(B[0].loss)));
  const s = (ms) => (ms / 1000).toFixed(2);
  const command = `node bench/overhead.mjs ${args.join(' ')}`.trim();

  const lines = [
    '# Framework overhead: a modelpress `train` stage vs a plain tfjs loop',
    '',
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}; ${describeMachine(mach)}.`,
    '',
    `One epoch of the MLP 784-300-100-10 over ${images.toLocaleString('en-US')} MNIST training images, Adam (lr ${LR}), batch ${BATCH}, seed ${SEED}, ` +
      `wasm backend with modelpress's training kernels in both. A: \`modelpress run\` of a one-stage recipe with a fresh cache dir. ` +
      `B: the same data loader, model builder and seeded batches in a plain \`optimizer.minimize\` loop, in its own process. ` +
      `${withWorker ? 'C: the plain loop in a worker thread (how modelpress runs a stage). ' : ''}` +
      `${reps} repetition${reps === 1 ? '' : 's'}, each running A and B back to back (A B, then B A, ...)${withWorker ? ', then C' : ''}. ` +
      'The machine is shared, so the verdict is the median of the per-repetition ratios A / B (the two runs of a pair saw the same machine); ' +
      'the ratio of the medians and of the fastest runs are shown for comparison.',
    '',
    '| | modelpress `train` stage (A), median | plain tfjs loop (B), median | A / B: median of pairs | A / B: of medians | A / B: of fastest | target |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    `| training time (A: metrics.trainMs; B: the loop) | ${s(m.trainMs)} s | ${s(m.loopMs)} s | **${trainRatio.toFixed(3)}** | ${ratioOfMedians.train.toFixed(3)} | ${ratioOfFastest.train.toFixed(3)} | <= ${target}: ${trainRatio <= target ? 'pass' : '**FAIL**'} |`,
    `| whole process (wall time) | ${s(m.stageWallMs)} s | ${s(m.plainWallMs)} s | ${wallRatio.toFixed(3)} | ${ratioOfMedians.wall.toFixed(3)} | ${ratioOfFastest.wall.toFixed(3)} | |`,
    `| whole process minus training | ${s(m.stageWallMs - m.trainMs)} s | ${s(m.plainWallMs - m.loopMs)} s | | | | |`,
    ...(withWorker
      ? [
          `| plain loop in a worker thread (C): training time | ${s(m.workerLoopMs)} s | | | A / C: ${(m.trainMs / m.workerLoopMs).toFixed(3)}, C / B: ${(m.workerLoopMs / m.loopMs).toFixed(3)} | | |`,
          `| plain loop in a worker thread (C): whole process | ${s(m.workerWallMs)} s | | | | | |`,
        ]
      : []),
    `| final epoch loss | ${A[0].loss.toFixed(6)} | ${B[0].loss.toFixed(6)} | ${sameLoss ? 'identical' : 'differ'} | | | |`,
    '',
    'Every repetition (seconds):',
    '',
    `| rep | order | A: trainMs | A: stage durationMs | A: process | B: loop | B: process | A / B training |${withWorker ? ' C: loop | C: process |' : ''}`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |${withWorker ? ' --- | --- |' : ''}`,
    ...A.map((a, i) => `| ${i + 1} | ${i % 2 === 0 ? 'A B' : 'B A'} | ${s(a.trainMs)} | ${s(a.durationMs)} | ${s(a.wallMs)} | ${s(B[i].loopMs)} | ${s(B[i].wallMs)} | ${pairedTrain[i].toFixed(3)} |${withWorker ? ` ${s(C[i].loopMs)} | ${s(C[i].wallMs)} |` : ''}`),
    '',
    `Load average (1 min) at the start: ${loadStart.toFixed(2)}, at the end: ${loadavg()[0].toFixed(2)} on ${mach.cores} cores.`,
    '',
    '## Machine',
    '',
    ...machineTable(mach),
    '',
  ];
  const json = {
    benchmark: 'overhead',
    command,
    date: new Date().toISOString(),
    machine: mach,
    setup: { model: 'mlp 784-300-100-10', images, optimizer: 'adam', learningRate: LR, batchSize: BATCH, seed: SEED, backend: 'wasm', reps },
    medians: m,
    trainRatio,
    wallRatio,
    verdictBasis: 'median of per-repetition ratios',
    pairedTrain,
    pairedWall,
    ratioOfMedians,
    ratioOfFastest,
    target,
    pass: trainRatio <= target,
    sameLoss,
    loadAverage: { start: loadStart, end: loadavg()[0] },
    runs: { stage: A.map(({ versions: _v, ...a }) => a), plain: B, ...(withWorker ? { plainWorker: C } : {}) },
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${lines.join('\n')}\n`);
  writeFileSync(out.replace(/\.md$/, '.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`wrote ${relative(root, out)} and .json\n`);
  process.stdout.write(lines.join('\n'));
}
