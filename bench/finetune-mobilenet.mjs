// Fine-tuning throughput of the round's "user's model" (examples/pretrained/
// mobilenet-v2-mnist: Keras MobileNetV2 alpha 0.35, 32x32x3, uint8 weights,
// not built by modelpress) at batch 32, Adam, on the wasm backend (with the
// modelpress wasm training kernels) and on the cpu backend: images/second
// over a few steps after one warm-up step, through modelpress's own
// training loop (runEpochs), on real MNIST digits preprocessed like the
// model's training data. Not a test.
//
//   npm run build && node bench/finetune-mobilenet.mjs [--steps N] [--backends wasm,cpu]
//
// Each backend runs in its own child process (tfjs holds one backend per
// process here). Writes bench/results/finetune-mobilenet.{md,json} with the
// machine and the load average before and after, which matters on a shared
// machine.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' }, backends: { type: 'string', default: 'wasm,cpu' },
    child: { type: 'string' }, batch: { type: 'string', default: '32' },
  },
});
const steps = Number(args.steps);
const batch = Number(args.batch);
if (!(Number.isInteger(steps) && steps > 0)) throw new Error(`Expected --steps to be a positive integer, got ${args.steps}`);
const MODEL = fileURLToPath(new URL('../examples/pretrained/mobilenet-v2-mnist', import.meta.url));

if (args.child) {
  // One backend, in this process: load, fine-tune warm-up + `steps` steps, print JSON.
  const { loadTf } = await import('../dist/engine/tf.js');
  const { registerWasmTrainingKernels } = await import('../dist/engine/kernels/index.js');
  const { loadModelDir } = await import('../dist/engine/model-io.js');
  const { runEpochs } = await import('../dist/stages/training/train-loop.js');
  const { mnistLoader } = await import('../dist/data/mnist.js');
  const backend = args.child;
  const tf = await loadTf(backend, { beforeReady: (t) => { if (backend === 'wasm') registerWasmTrainingKernels(t); } });
  const model = await loadModelDir(MODEL, { tf });
  const [, size] = model.inputs[0].shape;
  const count = batch * (steps + 1);
  const ds = await mnistLoader.load({ split: 'train', offset: 50000, limit: count }, { baseDir: process.cwd() });
  const x = tf.tidy(() => tf.tile(tf.image.resizeBilinear(tf.tensor4d(ds.x, [count, 28, 28, 1]), [size, size]), [1, 1, 1, 3]).mul(2).sub(1)).dataSync();
  const data = { ...ds, x: Float32Array.from(x), shape: [size, size, 3] };
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

const before = loadavg();
const results = [];
for (const backend of args.backends.split(',')) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend, '--steps', String(steps), '--batch', String(batch)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop();
  results.push(JSON.parse(line));
  console.log(line);
}
const after = loadavg();
const m = machine();
const load = (l) => l.map((v) => v.toFixed(2)).join(', ');
const record = { date: new Date().toISOString(), model: 'examples/pretrained/mobilenet-v2-mnist', loadAverageBefore: before, loadAverageAfter: after, machine: m, results };
const md = [
  '# Fine-tuning the MobileNetV2 user\'s model: wasm vs cpu',
  '',
  `MobileNetV2 alpha 0.35, 32x32x3, 10 classes (examples/pretrained/mobilenet-v2-mnist), Adam, batch ${batch}, ${steps} timed steps after one warm-up step, MNIST digits. \`node bench/finetune-mobilenet.mjs\`, ${record.date}.`,
  '',
  '| backend | images/s | ms/step | step times (ms, first = warm-up) |',
  '| --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.backend} | ${r.imagesPerSecond} | ${r.msPerStep} | ${r.stepMs.join(', ')} |`),
  '',
  `Load average (1, 5, 15 min) before: ${load(before)}; after: ${load(after)}. ${describeMachine(m)}.`,
  '',
  ...[machineTable(m)].flat(),
  '',
].join('\n');
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/finetune-mobilenet.json', import.meta.url), JSON.stringify(record, null, 2) + '\n');
await writeFile(new URL('./results/finetune-mobilenet.md', import.meta.url), md);
console.log(md);
