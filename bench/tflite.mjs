// TFLite export benchmark: LeNet-300-100 and LeNet-5 (the project's builders),
// trained briefly on MNIST with plain tfjs on wasm, exported to float32 and
// full-integer int8 .tflite files (calibrated min/max on 256 training images),
// then run by the real TFLite interpreter (tfjs-tflite's wasm build in
// headless Chromium) on the MNIST test set. Writes bench/results/tflite.md:
// sizes, accuracy (tfjs float vs interpreter float32 and int8), agreement of
// the interpreter with modelpress's int8 simulation, and latency (interpreter
// vs tfjs wasm in the same Chromium and in Node). Not a test.
//
//   npm run build && node bench/tflite.mjs
//   node bench/tflite.mjs --train-images 60000 --lenet-images 8192 --epochs 1 --test-images 10000
//   node bench/tflite.mjs --smoke --out /tmp/tflite.md   (seconds; checks the script, numbers meaningless)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { args, dist, loadTraining, opt, root } from './lib/cli.mjs';
import { describeMachine, machine } from './lib/machine.mjs';

const smoke = args.includes('--smoke');
const trainImages = Number(opt('--train-images', smoke ? '512' : '60000'));
const lenetImages = Number(opt('--lenet-images', smoke ? '256' : '12000'));
const epochs = Number(opt('--epochs', smoke ? '1' : '2'));
const testImages = Number(opt('--test-images', smoke ? '200' : '10000'));
const out = opt('--out', join(root, 'bench', 'results', 'tflite.md'));

const { loadTf, registerWasmTrainingKernels, buildModel, mnistLoader, batches, seededRandom } = await loadTraining();
const { toTensors } = await import(dist('stages/training/train-loop.js'));
const { exportTflite } = await import(dist('formats/tflite/export-tflite.js'));
const { compareWithSimulation, inputsForGraph } = await import(dist('formats/tflite/agreement.js'));
const { TfliteSession } = await import(dist('browser/tflite-session.js'));
const { measureTfliteLatency } = await import(dist('browser/tflite-latency.js'));
const { BrowserSession } = await import(dist('browser/session.js'));
const { measureBrowserLatency } = await import(dist('browser/browser-latency.js'));
const { measureLatency } = await import(dist('measure/latency.js'));
const { saveModelDir } = await import(dist('engine/model-io.js'));
const { compressedSizes } = await import(dist('measure/size.js'));

const tf = await loadTf('wasm', { beforeReady: (t) => registerWasmTrainingKernels(t) });
const LATENCY = smoke ? { warmup: 2, minRuns: 5, maxRuns: 10, maxSeconds: 2 } : { warmup: 20, minRuns: 50, maxRuns: 500, maxSeconds: 10 };

async function train(arch, images) {
  const flatten = arch === 'mlp';
  const ds = await mnistLoader.load({ split: 'train', limit: images, flatten }, { baseDir: root, name: 'train' });
  const test = await mnistLoader.load({ split: 'test', limit: testImages, flatten }, { baseDir: root, name: 'test' });
  const model = buildModel(tf, arch === 'mlp' ? { arch: 'mlp', units: [300, 100] } : { arch: 'lenet5' }, 1);
  const optimizer = tf.train.adam(0.001);
  const random = seededRandom(1);
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for (const idx of batches(ds, 64, { shuffle: true, random })) {
      const { xs, ys } = toTensors(tf, ds, idx);
      const loss = optimizer.minimize(() => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true })).mean(), true);
      await loss.data();
      tf.dispose([xs, ys, loss]);
    }
  }
  process.stderr.write(`${arch}: trained ${epochs} epoch(s) on ${ds.count} images in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return { model, ds, test };
}

function examplesOf(ds, count) {
  const per = ds.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, (_, i) => ds.x.subarray(i * per, (i + 1) * per));
}

function tfjsAccuracy(model, test) {
  return tf.tidy(() => {
    const xs = tf.tensor(test.x, [test.count, ...test.shape]);
    const pred = model.predict(xs).argMax(-1).dataSync();
    let hits = 0;
    for (let i = 0; i < test.count; i++) if (pred[i] === test.y[i]) hits++;
    return (100 * hits) / test.count;
  });
}

function concat(parts) {
  const o = parts[0] instanceof Int8Array ? new Int8Array(parts.length * parts[0].length) : new Float32Array(parts.length * parts[0].length);
  parts.forEach((p, i) => o.set(p, i * p.length));
  return o;
}

const session = await TfliteSession.open();
const browser = await BrowserSession.open();
const rows = [];
try {
  for (const [name, arch, images] of [['LeNet-300-100', 'mlp', trainImages], ['LeNet-5', 'lenet5', lenetImages]]) {
    const { model, ds, test } = await train(arch, images);
    const calibration = examplesOf(ds, Math.min(256, ds.count));
    const exported = exportTflite(model, { quantize: 'int8', io: 'float32', calibration });
    const examples = examplesOf(test, test.count);
    const run = async (bytes, graph) => {
      const inputs = inputsForGraph(graph, examples);
      const loaded = await session.load(bytes, 1);
      try {
        const t0 = performance.now();
        const outputs = await loaded.run(concat(inputs), inputs.length);
        process.stderr.write(`${name}: ${inputs.length} examples in the interpreter in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        return compareWithSimulation(graph, inputs, outputs, test.y);
      } finally {
        await loaded.release();
      }
    };
    const f32 = await run(exported.floatBytes, exported.floatGraph);
    const i8 = await run(exported.bytes, exported.int8Graph);
    const latF32 = await measureTfliteLatency(session, exported.floatBytes, LATENCY);
    const latI8 = await measureTfliteLatency(session, exported.bytes, LATENCY);
    const dir = mkdtempSync(join(tmpdir(), 'modelpress-bench-tflite-'));
    let latTfjsNode;
    let latTfjsBrowser;
    try {
      await saveModelDir(model, dir);
      latTfjsNode = await measureLatency(dir, { runtime: 'wasm', ...LATENCY });
      const page = await browser.page('wasm', 1);
      const served = await browser.serveModel(dir);
      latTfjsBrowser = await measureBrowserLatency(page, served.id, served.tfjsUrl, browser.version(), LATENCY);
      served.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    rows.push({
      name,
      trainImages: ds.count,
      tfjsAccuracy: tfjsAccuracy(model, test),
      f32,
      i8,
      floatKb: exported.floatBytes.length / 1024,
      int8Kb: exported.bytes.length / 1024,
      int8GzipKb: (await compressedSizes(exported.bytes)).gzip / 1024,
      lat: { f32: latF32, i8: latI8, tfjsNode: latTfjsNode, tfjsBrowser: latTfjsBrowser },
    });
    model.dispose();
  }
} finally {
  await session.close();
  await browser.close();
}

const f = (x, d = 2) => x.toFixed(d);
const ms = (l) => `${f(l.p50Ms, 3)} / ${f(l.p95Ms, 3)}`;
const lines = [
  '# TFLite export (bench/tflite.mjs)',
  '',
  smoke ? '**Smoke run: tiny training and test sets; the numbers only show that the script works.**\n' : '',
  `Machine: ${describeMachine(machine())}. Training: Adam 0.001, batch 64, ${epochs} epoch(s) on the first N MNIST training images (wasm, plain tfjs loop).`,
  `Test: the first ${testImages} MNIST test images. int8: full-integer, per-channel conv weights, min/max calibration on 256 training images, float32 I/O (QUANTIZE/DEQUANTIZE inside).`,
  '',
  '## Size and accuracy',
  '',
  '| model | train images | float32 .tflite KB | int8 .tflite KB | int8 gzip KB | int8 / float32 | tfjs float acc % | interpreter float32 acc % | interpreter int8 acc % | int8 drop pp | argmax agreement with simulation % | outputs within 1 step % | max diff (steps) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.name} | ${r.trainImages} | ${f(r.floatKb, 1)} | ${f(r.int8Kb, 1)} | ${f(r.int8GzipKb, 1)} | ${f(r.int8Kb / r.floatKb, 3)} | ${f(r.tfjsAccuracy)} | ${f(r.f32.runtimeAccuracy)} | ${f(r.i8.runtimeAccuracy)} | ${f(r.f32.runtimeAccuracy - r.i8.runtimeAccuracy)} | ${f(r.i8.argmaxAgreementPct)} | ${f(r.i8.withinOneStepPct)} | ${f(r.i8.maxDiffSteps)} |`),
  '',
  'Issue 18 targets: int8 accuracy within 0.2 pp of float, int8 file <= 0.27x float32, >= 99.5% argmax agreement, >= 99% of outputs within 1 step.',
  '',
  '## Latency, batch 1, 1 thread (p50 / p95 ms)',
  '',
  '| model | TFLite interpreter float32 (Chromium) | TFLite interpreter int8 (Chromium) | tfjs wasm (Chromium) | tfjs wasm (Node) |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.name} | ${ms(r.lat.f32)} | ${ms(r.lat.i8)} | ${ms(r.lat.tfjsBrowser)} | ${ms(r.lat.tfjsNode)} |`),
  '',
].filter((l, i) => l !== '' || i > 2);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${lines.join('\n')}\n`);
process.stderr.write(`wrote ${out}\n`);
