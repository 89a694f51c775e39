// Where a training step's time goes, on the backend modelpress trains on:
// per phase (data feeding, forward, backward, optimizer, readback,
// bookkeeping), per step, and per kernel (tf.profile, which on wasm times
// each kernel call synchronously). Not a test.
//
//   npm run build && node bench/profile-train.mjs [--model lenet300|lenet5] [--steps N]
//       [--batch N] [--backend wasm|cpu] [--top N] [--out NAME] [--by-shape]
//       [--optimizer adam|sgd|...] [--learning-rate X]
//   node bench/profile-train.mjs --model-dir examples/pretrained/mobilenet-v2-mnist --input 32x32x3 --batch 32
//
// --model-dir profiles a saved Keras model instead of a built one (a
// model.json directory, loaded with loadModelDir): the round's MobileNetV2,
// which modelpress did not build. --input HxWxC then says what the model
// takes; MNIST digits are prepared for it as bench/finetune-mobilenet.mjs
// does (bilinear 28 -> H x W, grey repeated to C channels, x*2-1), so the
// profile is of the very step that bench times.
//
// The phases are the ones runEpochs (src/stages/training/train-loop.ts)
// goes through per batch, called here one by one with the same functions
// (toTensors, tf.variableGrads over the model's loss, optimizer
// applyGradients, the loss read back, tf.dispose), so each can be timed on
// its own: forward is the time inside the loss function (the tape records
// while it runs), backward the rest of variableGrads. Kernel times come from
// separate profiled steps (tf.profile adds its own bookkeeping, which would
// otherwise be charged to the phases). Writes bench/results/<out>.md/.json
// with the machine and the load average, which matters on a shared machine.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseBenchArgs } from './lib/cli.mjs';
import { describeMachine, machine, machineTable } from './lib/machine.mjs';

const { values: args } = parseBenchArgs({
    model: { type: 'string', default: 'lenet300' },
    steps: { type: 'string', default: '30' },
    batch: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'wasm' },
    top: { type: 'string', default: '12' },
    out: { type: 'string' },
    optimizer: { type: 'string', default: 'adam' },
    'model-dir': { type: 'string' },
    input: { type: 'string' },
    'learning-rate': { type: 'string' },
    'by-shape': { type: 'boolean', default: false },
  }, import.meta.url);
const SPECS = { lenet300: { arch: 'mlp', units: [300, 100] }, lenet5: { arch: 'lenet5' } };
const modelDir = args['model-dir'];
const spec = modelDir ? { modelDir } : SPECS[args.model];
if (!spec) throw new Error(`Expected --model to be one of ${Object.keys(SPECS).join(', ')}, got ${args.model}`);
const input = args.input?.split('x').map(Number);
if (args.input !== undefined && !(input.length === 3 && input.every((v) => Number.isInteger(v) && v > 0))) {
  throw new Error(`Expected --input to be HxWxC (e.g. 32x32x3), got ${args.input}`);
}
if (modelDir && !input) throw new Error('--model-dir needs --input HxWxC (the shape the model takes)');
const modelName = modelDir ? modelDir.replace(/\/+$/, '').split('/').pop() : args.model;
const steps = Number(args.steps);
const batch = Number(args.batch);
const top = Number(args.top);
for (const [k, v] of [['steps', steps], ['batch', batch], ['top', top]]) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`Expected --${k} to be a positive integer, got ${args[k]}`);
}

const { loadTf } = await import('../dist/engine/tf.js');
const { registerWasmTrainingKernels } = await import('../dist/engine/kernels/index.js');
const { buildModel } = await import('../dist/engine/builders.js');
const { loadModelDir } = await import('../dist/engine/model-io.js');
const { useLazyConvGradients } = await import('../dist/engine/lazy-conv-gradients.js');
// Absent before issue 22's batch norm kernels: the A/B runs this script on that commit too.
const { useFusedBatchNormTraining } = await import('../dist/engine/fused-batch-norm-training.js').catch((e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  return { useFusedBatchNormTraining: () => [] };
});
const { makeOptimizer, toTensors } = await import('../dist/stages/training/train-loop.js');
const { mnistLoader } = await import('../dist/data/mnist.js');

const tf = await loadTf(args.backend, { beforeReady: (t) => { if (args.backend === 'wasm') registerWasmTrainingKernels(t); } });
const model = modelDir ? await loadModelDir(modelDir, { tf }) : buildModel(tf, spec, 1);
useLazyConvGradients(tf, model); // as runEpochs does
useFusedBatchNormTraining(tf, model);
const warmup = 2;
const profiled = Math.min(5, steps);
const count = batch * (warmup + steps + profiled);
const data = await loadData();
/** MNIST as the model takes it: as loaded for the built models, resized and scaled to --input for a saved one. */
async function loadData() {
  const ds = await mnistLoader.load({ split: 'train', limit: count, flatten: !modelDir && args.model === 'lenet300' }, { baseDir: process.cwd() });
  if (!input) return ds;
  const [h, w, c] = input;
  const x = tf.tidy(() => tf.tile(tf.image.resizeBilinear(tf.tensor4d(ds.x, [count, 28, 28, 1]), [h, w]), [1, 1, 1, c]).mul(2).sub(1)).dataSync();
  return { ...ds, x: Float32Array.from(x), shape: [h, w, c] };
}
const vars = model.trainableWeights.map((w) => w.val);
// The optimizer runEpochs makes.
const learningRate = args['learning-rate'] !== undefined ? Number(args['learning-rate']) : args.optimizer === 'sgd' ? 0.01 : 0.001;
const optimizer = makeOptimizer(tf, { optimizer: args.optimizer, learningRate, momentum: 0.9 });

let forwardMs = 0;
const loss = (xs, ys) => {
  const t0 = performance.now();
  const out = tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true })).mean();
  forwardMs = performance.now() - t0;
  return out;
};

/** One step, its phases timed. `i` picks the batch (no shuffling: order does not matter for time). */
async function step(i) {
  const idx = Array.from({ length: batch }, (_, k) => i * batch + k);
  const t0 = performance.now();
  const { xs, ys } = toTensors(tf, data, idx);
  const t1 = performance.now();
  const { value, grads } = tf.variableGrads(() => loss(xs, ys), vars);
  const t2 = performance.now();
  optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  const t3 = performance.now();
  const v = (await value.data())[0];
  const t4 = performance.now();
  tf.dispose([xs, ys, value, ...Object.values(grads)]);
  const t5 = performance.now();
  return { feed: t1 - t0, forward: forwardMs, backward: t2 - t1 - forwardMs, optimizer: t3 - t2, readback: t4 - t3, bookkeeping: t5 - t4, total: t5 - t0, loss: v };
}

const before = loadavg();
for (let i = 0; i < warmup; i++) await step(i);
const stepsOut = [];
for (let i = 0; i < steps; i++) stepsOut.push(await step(warmup + i));

// Kernel times, from profiled steps of their own.
const kernels = new Map();
let kernelMs = 0;
let profiledWall = 0;
for (let i = 0; i < profiled; i++) {
  const t0 = performance.now();
  const info = await tf.profile(() => step(warmup + steps + i));
  await info.result;
  profiledWall += performance.now() - t0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    // BatchMatMul's shapes say which form it is: [b,k]x[b,n] can only be transposeA (a Dense weight gradient).
    // --by-shape splits every kernel that way, to tell e.g. batch norm's Sums from the loss's.
    const key = args['by-shape'] || k.name === 'BatchMatMul' || k.name === '_FusedMatMul' ? `${k.name} ${k.inputShapes.slice(0, 2).map((s) => `[${s}]`).join('x')} -> [${k.outputShapes[0]}]` : k.name;
    const e = kernels.get(key) ?? { key, calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += ms;
    kernels.set(key, e);
    kernelMs += ms;
  }
}
const after = loadavg();

const phases = ['feed', 'forward', 'backward', 'optimizer', 'readback', 'bookkeeping'];
const mean = (key) => stepsOut.reduce((a, s) => a + s[key], 0) / stepsOut.length;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const total = mean('total');
const perKernel = [...kernels.values()].map((e) => ({ ...e, msPerStep: e.ms / profiled })).sort((a, b) => b.ms - a.ms);
const name = args.out ?? `profile-${modelName}`;
const m = machine({ backend: tf.getBackend() });
const record = {
  date: new Date().toISOString(), model: modelName, spec, input, backend: tf.getBackend(), batch, steps, optimizer: args.optimizer,
  loadAverageBefore: before, loadAverageAfter: after, machine: m,
  msPerStep: { mean: total, median: median(stepsOut.map((s) => s.total)) },
  phases: Object.fromEntries(phases.map((p) => [p, mean(p)])),
  kernelMsPerStep: kernelMs / profiled, profiledStepWallMs: profiledWall / profiled,
  kernels: perKernel, stepMs: stepsOut.map((s) => Number(s.total.toFixed(2))),
};
const f = (x) => x.toFixed(2);
const pct = (x, of) => `${((100 * x) / of).toFixed(1)}%`;
const load = (l) => l.map((v) => v.toFixed(2)).join(', ');
const md = [
  `# Training step profile: ${modelName} on ${record.backend}`,
  '',
  `${modelName} (${JSON.stringify(spec)}), ${args.optimizer} lr ${learningRate}, batch ${batch}, MNIST${input ? ` resized to ${input.join('x')}, x*2-1` : ''}; ${steps} timed steps after ${warmup} warm-up steps, then ${profiled} steps under tf.profile for the kernel table. \`node bench/profile-train.mjs ${process.argv.slice(2).join(' ')}\`, ${record.date}.`,
  '',
  `Step: mean ${f(total)} ms, median ${f(record.msPerStep.median)} ms (${f((batch * 1000) / total)} examples/s).`,
  '',
  '| phase | ms/step | share |',
  '| --- | --- | --- |',
  ...phases.map((p) => `| ${p} | ${f(record.phases[p])} | ${pct(record.phases[p], total)} |`),
  '',
  `Kernels (top ${top} of ${perKernel.length}; ${f(record.kernelMsPerStep)} ms of kernel time per profiled step, whose wall time was ${f(record.profiledStepWallMs)} ms):`,
  '',
  '| kernel | calls/step | ms/step | share of kernel time |',
  '| --- | --- | --- | --- |',
  ...perKernel.slice(0, top).map((k) => `| ${k.key} | ${k.calls / profiled} | ${f(k.msPerStep)} | ${pct(k.ms, kernelMs)} |`),
  '',
  `Load average (1, 5, 15 min) before: ${load(before)}; after: ${load(after)}. ${describeMachine(m)}.`,
  '',
  ...[machineTable(m)].flat(),
  '',
].join('\n');
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify(record, null, 2) + '\n');
await writeFile(new URL(`./results/${name}.md`, import.meta.url), md);
console.log(md);
process.exit(0);
