#!/usr/bin/env node
/**
 * Engine benchmark: time per training epoch of LeNet-5 and of the MLP
 * 784-300-100-10 over MNIST, on the wasm backend (with modelpress's training
 * kernels) and on the cpu backend, measured in one run so the ratio is
 * honest on a shared machine. Each (model, backend) runs in its own child
 * process, one at a time.
 *
 *   npm run build && node bench/engine.mjs [--images N] [--cpu-mlp-images N] [--cpu-lenet-images N] [--out FILE]
 *
 * Defaults: the full 60,000 training images on wasm. The cpu backend is so
 * slow (LeNet-5: ~0.4-0.5 s per image here, hours per epoch) that it is timed
 * on a slice (--cpu-mlp-images 8192, --cpu-lenet-images 512) and the epoch
 * time extrapolated linearly; the output says so on every such row.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, dist, loadTraining, opt, root } from './lib/cli.mjs';
import { describeMachine, machine } from './lib/machine.mjs';

if (args[0] === '--child') {
  const [, arch, backend, images] = args;
  const { loadTf, registerWasmTrainingKernels, buildModel, mnistLoader, batches, seededRandom } = await loadTraining();
  const { toTensors } = await import(dist('stages/training/train-loop.js'));
  const tf = await loadTf(backend, { beforeReady: (t) => backend === 'wasm' && registerWasmTrainingKernels(t) });
  const ds = await mnistLoader.load({ split: 'train', limit: Number(images), flatten: arch === 'mlp' }, { baseDir: root, name: 'train' });
  const model = buildModel(tf, arch === 'mlp' ? { arch: 'mlp', units: [300, 100] } : { arch: 'lenet5' }, 1);
  const optimizer = tf.train.adam(0.001);
  const random = seededRandom(1);
  const t0 = performance.now();
  for (const idx of batches(ds, 64, { shuffle: true, random })) {
    const { xs, ys } = toTensors(tf, ds, idx);
    const loss = optimizer.minimize(() => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true })).mean(), true);
    await loss.data();
    tf.dispose([xs, ys, loss]);
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ arch, backend: tf.getBackend(), images: ds.count, ms }));
  process.exit(0);
}

const full = Number(opt('--images', '60000'));
const cpuMlp = Number(opt('--cpu-mlp-images', '8192'));
const cpuLenet = Number(opt('--cpu-lenet-images', '512'));
const out = opt('--out', join(root, 'bench', 'results', 'engine.md'));
const runs = [
  ['mlp', 'wasm', full],
  ['mlp', 'cpu', Math.min(cpuMlp, full)],
  ['lenet5', 'wasm', full],
  ['lenet5', 'cpu', Math.min(cpuLenet, full)],
];
const results = [];
for (const [arch, backend, images] of runs) {
  process.stderr.write(`timing ${arch} on ${backend}, ${images} images...\n`);
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', arch, backend, String(images)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${arch}/${backend} failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout);
  res.epochMs = (res.ms / res.images) * full;
  res.extrapolated = res.images !== full;
  results.push(res);
  process.stderr.write(`  ${(res.ms / 1000).toFixed(1)} s for ${res.images} images -> ${(res.epochMs / 1000).toFixed(1)} s per ${full}-image epoch\n`);
}
const by = (a, b) => results.find((r) => r.arch === a && r.backend === b);
const lines = [
  '# Engine benchmark: training epoch time, wasm vs cpu',
  '',
  `Run ${new Date().toISOString()} on ${describeMachine(machine({ backend: 'wasm and cpu' }))}; batch 64, Adam, one epoch of ${full} MNIST training images.`,
  `Command: \`npm run build && node bench/engine.mjs ${args.join(' ')}\``,
  '',
  '| model | backend | images timed | epoch time (s) | note |',
  '| --- | --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.arch} | ${r.backend} | ${r.images} | ${(r.epochMs / 1000).toFixed(1)} | ${r.extrapolated ? `extrapolated from ${r.images} images` : 'measured'} |`),
  '',
  `- MLP 784-300-100-10: wasm is ${(by('mlp', 'cpu').epochMs / by('mlp', 'wasm').epochMs).toFixed(1)}x faster than cpu`,
  `- LeNet-5: wasm is ${(by('lenet5', 'cpu').epochMs / by('lenet5', 'wasm').epochMs).toFixed(1)}x faster than cpu`,
  '',
];
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n'));
writeFileSync(out.replace(/\.md$/, '.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(lines.join('\n'));
