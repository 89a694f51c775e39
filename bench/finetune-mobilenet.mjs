// Fine-tuning throughput of the round's "user's model" (examples/pretrained/
// mobilenet-v2-mnist: Keras MobileNetV2 alpha 0.35, 32x32x3, uint8 weights,
// not built by modelpress) at batch 32, Adam lr 1e-4: images/second over a
// few steps after one warm-up step, on real MNIST digits preprocessed like the
// model's training data (bilinear 28 -> 32, grey to 3 channels, x*2-1).
// Not a test.
//
//   npm run build && node bench/finetune-mobilenet.mjs [--steps N] [--reps N] [--batch N] [--backends wasm,torch[,cpu]]
//
// Backends: wasm (modelpress's training loop runEpochs, with the modelpress
// wasm training kernels), torch (the same Keras model rebuilt in PyTorch by
// bench/lib/torch-keras.py and fine-tuned by bench/lib/torch-finetune.py, one
// thread, on the very same preprocessed batches) and cpu (tfjs cpu, ~20x
// slower than wasm: out of the default). The torch model is first checked to
// be the same function as the tfjs one: its outputs on reference images must
// equal tfjs's within 1e-4, or the run stops.
//
// Every measurement runs in its own child process (tfjs holds one backend per
// process), interleaved per rep (wasm, torch, wasm, torch for --reps 2) so
// load that comes and goes hits every backend alike; the wasm/torch ratio is
// the median of the per-rep ratios. Writes bench/results/finetune-mobilenet.
// {md,json} with the machine and the load average before and after, which
// matters on a shared machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './lib/cli.mjs';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';

const BACKENDS = ['wasm', 'torch', 'cpu'];
const PYTHON = '/usr/bin/python3';
const TORCH_APT = 'sudo apt-get install python3-torch libopenblas0-pthread';
const REFERENCE_IMAGES = 8;

const { values: args } = parseBenchArgs({
    steps: { type: 'string', default: '5' }, reps: { type: 'string', default: '1' }, batch: { type: 'string', default: '32' },
    backends: { type: 'string', default: 'wasm,torch' },
    child: { type: 'string' }, data: { type: 'string' },
  }, import.meta.url);
const positiveInt = (name) => {
  const n = Number(args[name]);
  if (!(Number.isInteger(n) && n > 0)) fail(`--${name}: expected a positive integer, got ${JSON.stringify(args[name])}`);
  return n;
};
const steps = positiveInt('steps');
const reps = positiveInt('reps');
const batch = positiveInt('batch');
const backends = args.backends.split(',').map((b) => b.trim()).filter(Boolean);
const unknown = backends.filter((b) => !BACKENDS.includes(b));
if (unknown.length || !backends.length) fail(`--backends: expected a comma-separated list of ${BACKENDS.join(', ')}, got ${JSON.stringify(args.backends)}`);
const MODEL = fileURLToPath(new URL('../examples/pretrained/mobilenet-v2-mnist', import.meta.url));
const self = fileURLToPath(import.meta.url);

function fail(message) {
  console.error(`finetune-mobilenet: ${message}`);
  process.exit(1);
}

/** tfjs on `backend` with the model loaded and the run's examples preprocessed: the same for every tfjs child. */
async function setUp(backend) {
  const { loadTf } = await import('../dist/engine/tf.js');
  const { registerWasmTrainingKernels } = await import('../dist/engine/kernels/index.js');
  const { loadModelDir } = await import('../dist/engine/model-io.js');
  const { mnistLoader } = await import('../dist/data/mnist.js');
  const tf = await loadTf(backend, { beforeReady: (t) => { if (backend === 'wasm') registerWasmTrainingKernels(t); } });
  const model = await loadModelDir(MODEL, { tf });
  const [, size] = model.inputs[0].shape;
  const count = batch * (steps + 1);
  const ds = await mnistLoader.load({ split: 'train', offset: 50000, limit: count }, { baseDir: process.cwd() });
  const x = tf.tidy(() => tf.tile(tf.image.resizeBilinear(tf.tensor4d(ds.x, [count, 28, 28, 1]), [size, size]), [1, 1, 1, 3]).mul(2).sub(1)).dataSync();
  return { tf, model, data: { ...ds, x: Float32Array.from(x), shape: [size, size, 3] } };
}

if (args.child === 'reference') {
  // The examples and tfjs's (wasm) outputs on the first few, for the torch child: same data, and proof of the same model.
  const { tf, model, data } = await setUp('wasm');
  // Both modes: inference (moving statistics) and training (batch statistics over these images, as every fine-tuning step uses).
  const xs = tf.tensor4d(data.x.subarray(0, REFERENCE_IMAGES * data.x.length / data.count), [REFERENCE_IMAGES, ...data.shape]);
  const outputs = tf.tidy(() => model.predict(xs).arraySync());
  const trainingOutputs = tf.tidy(() => model.apply(xs, { training: true }).arraySync());
  await writeFile(join(args.data, 'x.bin'), Buffer.from(data.x.buffer, data.x.byteOffset, data.x.byteLength));
  await writeFile(join(args.data, 'meta.json'), JSON.stringify({
    count: data.count, shape: data.shape, labels: Array.from(data.y), classes: model.outputs[0].shape[1], reference: { count: REFERENCE_IMAGES, backend: tf.getBackend(), outputs, trainingOutputs },
  }));
  console.log(JSON.stringify({ reference: REFERENCE_IMAGES }));
  process.exit(0);
}

if (args.child) {
  // One tfjs backend, in this process: fine-tune warm-up + `steps` steps with modelpress's loop, print JSON.
  const { runEpochs } = await import('../dist/stages/training/train-loop.js');
  const { tf, model, data } = await setUp(args.child);
  const times = [];
  let last = performance.now();
  const run = await runEpochs(
    tf, model,
    { epochs: 1, batchSize: batch, optimizer: 'adam', learningRate: 1e-4, momentum: 0.9, schedule: { kind: 'constant' } },
    { data, seed: 1, shuffleSeed: 2, signal: new AbortController().signal },
    { afterStep: () => { const now = performance.now(); times.push(now - last); last = now; } },
  );
  const timed = times.slice(1); // the first step includes tfjs/XNNPACK warm-up
  const ms = timed.reduce((a, b) => a + b, 0) / timed.length;
  console.log(JSON.stringify({
    backend: tf.getBackend(), steps: timed.length, batch, msPerStep: Math.round(ms), imagesPerSecond: Number(((batch * 1000) / ms).toFixed(1)),
    stepMs: times.map((t) => Math.round(t)), microBatchSize: run.microBatchSize, loss: run.epochs[0].loss,
  }));
  process.exit(0);
}

/** Runs a child and returns its last stdout line as JSON; a failing child stops the bench with its own message (already on stderr). */
function child(command, argv, what) {
  try {
    const out = execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    fail(`${what} failed (exit ${e.status ?? e.code}); its message is above.`);
  }
}

const torchMissing = backends.includes('torch') ? whyNoTorch() : null;
function whyNoTorch() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found; install: ${TORCH_APT}`;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} has no torch; install: ${TORCH_APT}`;
  }
}
if (torchMissing) console.error(`finetune-mobilenet: torch not measured: ${torchMissing}`);

const before = loadavg();
const dataDir = await mkdtemp(join(tmpdir(), 'finetune-mobilenet-'));
const runs = []; // {rep, ...child result}
try {
  if (backends.includes('torch') && !torchMissing) child(process.execPath, [self, '--child', 'reference', '--data', dataDir, '--steps', String(steps), '--batch', String(batch)], 'the tfjs reference child');
  for (let rep = 1; rep <= reps; rep++) {
    for (const backend of backends) {
      if (backend === 'torch' && torchMissing) continue;
      const r = backend === 'torch'
        ? child(PYTHON, [join(fileURLToPath(new URL('./lib/', import.meta.url)), 'torch-finetune.py'), MODEL, dataDir, String(steps), String(batch)], 'the torch child (bench/lib/torch-finetune.py)')
        : child(process.execPath, [self, '--child', backend, '--steps', String(steps), '--batch', String(batch)], `the ${backend} child`);
      runs.push({ rep, ...r });
      console.log(JSON.stringify({ rep, ...r }));
    }
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
const after = loadavg();

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
const round1 = (v) => Math.round(v * 10) / 10;
const summary = backends.map((backend) => {
  const mine = runs.filter((r) => r.backend === backend);
  return mine.length
    ? { backend, measured: true, imagesPerSecond: round1(median(mine.map((r) => r.imagesPerSecond))), msPerStep: round1(median(mine.map((r) => r.msPerStep))) }
    : { backend, measured: false, why: torchMissing };
});
// wasm ms/step over torch ms/step in the same rep (= torch images/s over wasm's): how many times slower modelpress is.
const perRepRatio = [];
for (let rep = 1; rep <= reps; rep++) {
  const w = runs.find((r) => r.rep === rep && r.backend === 'wasm');
  const t = runs.find((r) => r.rep === rep && r.backend === 'torch');
  if (w && t) perRepRatio.push(w.msPerStep / t.msPerStep);
}
const ratio = perRepRatio.length ? median(perRepRatio) : null;
const torchRuns = runs.filter((r) => r.backend === 'torch');
const maxDiff = torchRuns.length ? Math.max(...torchRuns.map((r) => r.maxAbsDiffToTfjs)) : null;

const m = machine();
const load = (l) => l.map((v) => v.toFixed(2)).join(', ');
const command = `node bench/finetune-mobilenet.mjs --steps ${steps} --reps ${reps} --batch ${batch} --backends ${backends.join(',')}`;
const record = {
  date: new Date().toISOString(), command, model: 'examples/pretrained/mobilenet-v2-mnist', batch, steps, reps, optimizer: 'adam', learningRate: 1e-4,
  wasmOverTorch: ratio, wasmOverTorchPerRep: perRepRatio, torchMaxAbsDiffToTfjs: maxDiff, torchReferenceImages: torchRuns.length ? REFERENCE_IMAGES : null,
  loadAverageBefore: before, loadAverageAfter: after, machine: m, summary, runs,
};
const diffIn = (mode) => Math.max(...torchRuns.map((r) => r.maxAbsDiffToTfjsByMode[mode]));
const torchInfo = torchRuns[0] ? `torch ${torchRuns[0].torch}, ${torchRuns[0].threads} thread` : null;
const md = [
  '# Fine-tuning the MobileNetV2 user\'s model: modelpress (wasm) vs PyTorch',
  '',
  `MobileNetV2 alpha 0.35, 32x32x3, 10 classes (examples/pretrained/mobilenet-v2-mnist), Adam lr 1e-4, batch ${batch}, batch norm in training mode, ${steps} timed steps after one warm-up step, MNIST digits, ${reps} interleaved rep(s), each backend in its own process. \`${command}\`, ${record.date}.`,
  '',
  'wasm: modelpress\'s training loop (runEpochs) on tfjs wasm with the modelpress training kernels. ' +
    (torchInfo
      ? `torch: the same Keras model rebuilt by bench/lib/torch-keras.py (${torchInfo}), fine-tuned on the same preprocessed batches by bench/lib/torch-finetune.py (in order, where runEpochs shuffles: the losses differ, the work per step does not). Same model: its softmax outputs on ${REFERENCE_IMAGES} MNIST images differ from tfjs wasm's by at most ${diffIn('inference').toExponential(2)} in inference mode and ${diffIn('training').toExponential(2)} in training mode (the bench stops above 1e-4).`
      : `torch: not measured (${torchMissing ?? 'not in --backends'}).`) +
    (backends.includes('cpu') ? ' cpu: the same loop on tfjs cpu.' : ''),
  '',
  '| backend | images/s (median) | ms/step (median) |',
  '| --- | --- | --- |',
  ...summary.map((s) => (s.measured ? `| ${s.backend} | ${s.imagesPerSecond} | ${s.msPerStep} |` : `| ${s.backend} | not measured: ${s.why} | |`)),
  '',
  ratio === null
    ? 'wasm / torch: not measured (needs both backends).'
    : `**wasm / torch: ${ratio.toFixed(2)}x** (wasm's ms/step over torch's, median of the per-rep ratios ${perRepRatio.map((r) => r.toFixed(2)).join(', ')}): modelpress on wasm fine-tunes this model ${ratio.toFixed(2)} times slower than PyTorch with one thread.`,
  '',
  '| rep | backend | images/s | ms/step | step times (ms, first = warm-up) |',
  '| --- | --- | --- | --- | --- |',
  ...runs.map((r) => `| ${r.rep} | ${r.backend} | ${r.imagesPerSecond} | ${r.msPerStep} | ${r.stepMs.join(', ')} |`),
  '',
  `Load average (1, 5, 15 min) before: ${load(before)}; after: ${load(after)}, on ${m.cores} cores. ${describeMachine(m)}.` +
    (Math.max(before[0], after[0]) > m.cores
      ? ' The machine was shared (load above the core count): an idle one gives higher images/s on both sides; the ratio, from interleaved runs, is the useful part.'
      : ''),
  '',
  ...[machineTable(m)].flat(),
  '',
].join('\n');
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/finetune-mobilenet.json', import.meta.url), JSON.stringify(record, null, 2) + '\n');
await writeFile(new URL('./results/finetune-mobilenet.md', import.meta.url), md);
console.log(md);
