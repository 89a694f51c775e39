#!/usr/bin/env node
/**
 * Issue 21: fixed-point Qm.n storage and activations next to the affine
 * modes, on LeNet-300-100 trained on MNIST. One recipe, run with the CLI:
 * a `train` node, then one `quantize` node per storage mode, each with its
 * activation simulation. Writes bench/results/fixed-point.md/.json with the
 * weight bytes, the stored model's accuracy (stock tfjs), the simulated
 * activation accuracy, and the Qm.n chosen per kernel.
 *
 *     node bench/fixed-point.mjs [--limit N] [--test N] [--epochs N] [--out NAME]
 *
 * Defaults: the full 60,000 training images, 10,000 test images, 3 epochs
 * (the docs/stages.md quantize table's setting). `--limit 2000 --test 500
 * --epochs 1` checks the script in about a minute (numbers meaningless).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMachine, machine } from './lib/machine.mjs';
import { opt, root } from './lib/cli.mjs';

const limit = Number(opt('--limit', 60000));
const testImages = Number(opt('--test', 10000));
const epochs = Number(opt('--epochs', 3));
const out = opt('--out', 'fixed-point');

const variants = [
  ['uint8', { weights: 'uint8', activations: 'int8' }],
  ['fixed8', { weights: 'fixed8', activations: 'fixed8' }],
  ['fixed16', { weights: 'fixed16', activations: 'fixed16' }],
  ['fixed8-minsize0', { weights: 'fixed8', minSize: 0, activations: 'fixed8' }],
];

const work = mkdtempSync(join(tmpdir(), 'modelpress-fixed-point-'));
const recipe = {
  version: 1,
  name: 'fixed-point-bench',
  seed: 1,
  data: {
    train: { uses: 'mnist', split: 'train', limit, flatten: true },
    test: { uses: 'mnist', split: 'test', limit: testImages, flatten: true },
  },
  model: { build: { arch: 'mlp', units: [300, 100] } },
  stages: [
    { id: 'train', uses: 'train', with: { data: 'train', epochs, batchSize: 64 } },
    ...variants.map(([id, w]) => ({ id, uses: 'quantize', needs: ['train'], with: { ...w, eval: 'test', calibration: { samples: 256 } } })),
  ],
};
// JSON is YAML.
writeFileSync(join(work, 'recipe.yaml'), JSON.stringify(recipe, null, 2));
const runDir = join(work, 'run');
const started = Date.now();
execFileSync(process.execPath, [join(root, 'bin/modelpress.js'), 'run', join(work, 'recipe.yaml'), '--out', runDir, '--cache-dir', join(work, 'cache'), '--jobs', '1'], { stdio: 'inherit' });
const seconds = (Date.now() - started) / 1000;

const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
const rows = variants.map(([id]) => {
  const m = run.nodes.find((n) => n.id === id).metrics;
  const kernels = Object.fromEntries(
    Object.values(m.layers).flatMap((l) => Object.entries(l.tensors).filter(([, t]) => t.fixedPoint).map(([name, t]) => [name, t.fixedPoint.format])),
  );
  return {
    id,
    weightBytes: m.weightBytesAfter,
    compression: m.compression,
    accuracyBefore: m.accuracyBefore,
    accuracy: m.accuracy,
    activationAccuracy: m.int8Accuracy ?? m.fixedPointAccuracy,
    activations: m.int8Accuracy !== undefined ? 'int8 (affine, calibrated)' : `${recipe.stages.find((s) => s.id === id).with.activations} (Qm.n, calibrated)`,
    kernels,
  };
});
const mach = machine({ versions: run.versions ?? {} });
writeFileSync(join(root, 'bench/results', `${out}.json`), `${JSON.stringify({ machine: mach, limit, testImages, epochs, seconds, rows }, null, 2)}\n`);
const md = [
  `# Fixed-point vs affine storage: LeNet-300-100 on MNIST`,
  '',
  `${describeMachine(mach)}. Trained ${epochs} epoch(s) on ${limit} images (seed 1), accuracy on ${testImages} test images; run took ${seconds.toFixed(0)} s. Reproduce: \`node bench/fixed-point.mjs --limit ${limit} --test ${testImages} --epochs ${epochs}\`.`,
  '',
  '| storage | weight bytes | compression | accuracy float32 | accuracy stored | activations simulated | accuracy simulated | kernel formats |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.id} | ${r.weightBytes.toLocaleString('en-US')} | ${r.compression.toFixed(2)}x | ${r.accuracyBefore.toFixed(2)}% | ${r.accuracy.toFixed(2)}% | ${r.activations} | ${r.activationAccuracy.toFixed(2)}% | ${Object.entries(r.kernels).map(([k, f]) => `${k} ${f}`).join(', ') || '–'} |`),
  '',
];
writeFileSync(join(root, 'bench/results', `${out}.md`), md.join('\n'));
process.stdout.write(md.join('\n'));
// The run and its cache (trained model, four quantized copies) are only needed for the table.
rmSync(work, { recursive: true, force: true });
