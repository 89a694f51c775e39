// Micro-benchmark for the wasm training kernels (src/engine/kernels/): one
// LeNet-5 training step (batch 64, sgd) on wasm with our kernels vs on cpu,
// in one process, plus each of our kernels on its own against the stock wasm
// kernel it replaces (if any) and cpu. Not a test.
//
//   npm run build && node bench/kernels.mjs
//   MODELPRESS_DIST=/some/other/build node bench/kernels.mjs   (a dist/ elsewhere)
//
// Recorded results: see the numbers printed at the end of a run; the last
// recorded run is in the comment at the bottom of this file.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const dist = process.env.MODELPRESS_DIST
  ? pathToFileURL(process.env.MODELPRESS_DIST.replace(/\/?$/, '/'))
  : new URL('../dist/', import.meta.url);
let kernels;
try {
  kernels = await import(new URL('engine/kernels/index.js', dist).href);
} catch (error) {
  console.error(`Cannot load ${new URL('engine/kernels/index.js', dist).href}: run \`npm run build\` first.`);
  throw error;
}

const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm');
const stockBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
const registered = kernels.registerWasmTrainingKernels(tf);
tf.env().set('PROD', true); // silence the cpu backend's "install tfjs-node" banner
await tf.setBackend('cpu');
tf.scalar(0).dispose();
await tf.setBackend('wasm');
tf.env().set('PROD', false);
stockMaxPoolGrad.setupFunc?.(tf.backend()); // unregistered before init, so set it up by hand

function lenet5() {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu' }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 120, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 84, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** Median and min of `runs` timings of fn (ms), after `warmup` untimed calls. */
async function time(fn, runs, warmup = 2) {
  for (let i = 0; i < warmup; i++) await fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], min: t[0] };
}

async function stepTime(backend, runs) {
  await tf.setBackend(backend);
  const model = lenet5();
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const x = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32', 2), 10);
  const r = await time(() => model.trainOnBatch(x, y), runs);
  let profile;
  if (backend === 'wasm') {
    const p = await tf.profile(() => model.trainOnBatch(x, y));
    const byName = new Map();
    for (const k of p.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + k.kernelTimeMs);
    profile = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ');
  }
  tf.dispose([x, y]);
  model.dispose();
  return { ...r, profile };
}

async function kernelTime(backend, name, inputs, attrs, runs, kernelFunc) {
  await tf.setBackend(backend);
  const ins = Object.fromEntries(Object.entries(inputs).map(([k, [shape, seed]]) => [k, tf.randomNormal(shape, 0, 1, 'float32', seed)]));
  const run = kernelFunc
    ? () => tf.backend().disposeData(kernelFunc({ inputs: ins, attrs, backend: tf.backend() }).dataId)
    : () => tf.engine().runKernel(name, ins, attrs).dispose();
  const r = await time(run, runs);
  tf.dispose(Object.values(ins));
  return r;
}

const fmt = (r) => `${r.median.toFixed(2)} ms (min ${r.min.toFixed(2)})`;
console.log(`tfjs ${tf.version.tfjs}, node ${process.version}, wasm threads ${getThreadsCount()}, registered: ${registered.join(', ')}`);

const wasmStep = await stepTime('wasm', 20);
const cpuStep = await stepTime('cpu', 3);
// Same step with the stock Conv2DBackpropInput back in place (only the missing
// kernel and the MaxPoolGrad fix), to show what the replacement buys.
const ourBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
tf.registerKernel(stockBackpropInput);
const wasmStockStep = await stepTime('wasm', 20);
tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
tf.registerKernel(ourBackpropInput);
const wasmStep2 = await stepTime('wasm', 20);
console.log(`LeNet-5 train step, batch 64, sgd:  wasm ${fmt(wasmStep)} / again ${fmt(wasmStep2)}  cpu ${fmt(cpuStep)}  ` +
  `cpu/wasm ${(cpuStep.median / Math.min(wasmStep.median, wasmStep2.median)).toFixed(1)}x`);
console.log(`  wasm step with the stock Conv2DBackpropInput: ${fmt(wasmStockStep)}`);
console.log(`  wasm step, top kernels (ms): ${wasmStep.profile}`);
console.log(`  same, stock Conv2DBackpropInput (ms): ${wasmStockStep.profile}`);

for (const [label, x, dy, k] of [
  ['conv1 (28x28x1 -> 6, 5x5 same)', [64, 28, 28, 1], [64, 28, 28, 6], [5, 5, 1, 6]],
  ['conv2 (14x14x6 -> 16, 5x5 valid)', [64, 14, 14, 6], [64, 10, 10, 16], [5, 5, 6, 16]],
  ['cnn conv2 (14x14x8 -> 16, 3x3 same)', [64, 14, 14, 8], [64, 14, 14, 16], [3, 3, 8, 16]],
]) {
  const pad = label.includes('valid') ? 'valid' : 'same';
  const attrs = { strides: 1, pad, dataFormat: 'NHWC', filterShape: k };
  const w = await kernelTime('wasm', 'Conv2DBackpropFilter', { x: [x, 1], dy: [dy, 2] }, attrs, 20);
  const c = await kernelTime('cpu', 'Conv2DBackpropFilter', { x: [x, 1], dy: [dy, 2] }, attrs, 3, undefined);
  console.log(`Conv2DBackpropFilter ${label}, batch 64:  wasm ${fmt(w)}  cpu ${fmt(c)}  cpu/wasm ${(c.median / w.median).toFixed(1)}x`);
}

for (const [label, x, dy, k] of [
  ['conv2 (14x14x6 -> 16, 5x5 valid)', [64, 14, 14, 6], [64, 10, 10, 16], [5, 5, 6, 16]],
  ['cnn conv2 (14x14x8 -> 16, 3x3 same)', [64, 14, 14, 8], [64, 14, 14, 16], [3, 3, 8, 16]],
  ['cnn conv1 (28x28x1 -> 8, 3x3 same)', [64, 28, 28, 1], [64, 28, 28, 8], [3, 3, 1, 8]],
]) {
  const pad = label.includes('valid') ? 'valid' : 'same';
  const attrs = { inputShape: x, strides: 1, pad, dataFormat: 'NHWC' };
  const inputs = { dy: [dy, 1], filter: [k, 2] };
  const ours = await kernelTime('wasm', 'Conv2DBackpropInput', inputs, attrs, 20);
  const stock = await kernelTime('wasm', 'Conv2DBackpropInput', inputs, attrs, 20, stockBackpropInput.kernelFunc);
  const c = await kernelTime('cpu', 'Conv2DBackpropInput', inputs, attrs, 3);
  console.log(`Conv2DBackpropInput ${label}, batch 64:  ours ${fmt(ours)}  stock wasm ${fmt(stock)}  cpu ${fmt(c)}`);
}

for (const [label, x, f, s] of [
  ['LeNet pool1 28x28x6', [64, 28, 28, 6], 2, 2],
  ['CNN pool1 28x28x8', [64, 28, 28, 8], 2, 2],
  ['3x3/1 same 14x14x16', [64, 14, 14, 16], 3, 1],
]) {
  await tf.setBackend('cpu');
  const yShape = tf.maxPool(tf.zeros(x), f, s, 'same').shape;
  const inputs = { input: [x, 3], output: [yShape, 4], dy: [yShape, 5] };
  const attrs = { filterSize: f, strides: s, pad: 'same' };
  const ours = await kernelTime('wasm', 'MaxPoolGrad', inputs, attrs, 20);
  const stock = await kernelTime('wasm', 'MaxPoolGrad', inputs, attrs, 20, stockMaxPoolGrad.kernelFunc);
  const c = await kernelTime('cpu', 'MaxPoolGrad', inputs, attrs, 5);
  console.log(`MaxPoolGrad ${label}, batch 64:  ours ${fmt(ours)}  stock wasm (wrong) ${fmt(stock)}  cpu ${fmt(c)}`);
}

// Recorded run (2 shared cores, other jobs running; wasm 1 thread, tfjs 4.22.0, node 20.20.2).
// Three runs gave cpu/wasm step ratios of 141x, 169x and 149x; this is the third:
//   tfjs 4.22.0, node v20.20.2, wasm threads 1, registered: Conv2DBackpropFilter, MaxPoolGrad, Conv2DBackpropInput
//   LeNet-5 train step, batch 64, sgd:  wasm 46.61 ms (min 33.54) / again 53.79 ms (min 36.89)  cpu 6925.11 ms (min 6399.85)  cpu/wasm 148.6x
//     wasm step with the stock Conv2DBackpropInput: 77.65 ms (min 61.77)
//     wasm step, top kernels (ms): BatchMatMul 14.3, Conv2DBackpropFilter 5.7, Add 4.2, Conv2D 3.9, Conv2DBackpropInput 3.6, Identity 3.3
//     same, stock Conv2DBackpropInput (ms): Conv2DBackpropInput 28.7, BatchMatMul 21.4, Conv2DBackpropFilter 7.1, Conv2D 5.2, MaxPoolGrad 4.7, Add 2.2
//   Conv2DBackpropFilter conv1 (28x28x1 -> 6, 5x5 same), batch 64:  wasm 6.42 ms (min 6.26)  cpu 1737.16 ms (min 1526.35)  cpu/wasm 270.6x
//   Conv2DBackpropFilter conv2 (14x14x6 -> 16, 5x5 valid), batch 64:  wasm 2.41 ms (min 2.18)  cpu 3235.14 ms (min 3213.26)  cpu/wasm 1341.0x
//   Conv2DBackpropFilter cnn conv2 (14x14x8 -> 16, 3x3 same), batch 64:  wasm 2.96 ms (min 2.80)  cpu 3345.26 ms (min 2734.80)  cpu/wasm 1130.0x
//   Conv2DBackpropInput conv2 (14x14x6 -> 16, 5x5 valid), batch 64:  ours 5.12 ms (min 3.67)  stock wasm 19.80 ms (min 17.72)  cpu 72.72 ms (min 72.45)
//   Conv2DBackpropInput cnn conv2 (14x14x8 -> 16, 3x3 same), batch 64:  ours 1.37 ms (min 1.27)  stock wasm 17.89 ms (min 15.52)  cpu 63.56 ms (min 63.56)
//   Conv2DBackpropInput cnn conv1 (28x28x1 -> 8, 3x3 same), batch 64:  ours 4.26 ms (min 4.08)  stock wasm 8.15 ms (min 7.83)  cpu 16.70 ms (min 14.80)
//   MaxPoolGrad LeNet pool1 28x28x6, batch 64:  ours 4.85 ms (min 4.60)  stock wasm (wrong) 9.75 ms (min 9.55)  cpu 157.81 ms (min 148.67)
//   MaxPoolGrad CNN pool1 28x28x8, batch 64:  ours 5.69 ms (min 5.08)  stock wasm (wrong) 12.86 ms (min 12.21)  cpu 236.08 ms (min 222.06)
//   MaxPoolGrad 3x3/1 same 14x14x16, batch 64:  ours 16.10 ms (min 12.32)  stock wasm (wrong) 16.19 ms (min 15.67)  cpu 460.66 ms (min 419.74)
