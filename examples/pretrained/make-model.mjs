#!/usr/bin/env node
/**
 * Makes "the user's model" that the round's examples start from: a Keras
 * MobileNetV2 (mobilenet-v2.mjs, alpha 0.35) trained once on real MNIST
 * digits, saved the way tfjs-converter saves a Keras 2 model with
 * `--quantize_uint8`: model.json with `format: layers-model` and a
 * `modelTopology` holding `keras_version`, `backend` and the nested
 * `model_config` {class_name: 'Functional', config: {layers, input_layers,
 * output_layers}}, and a weightsManifest whose every weight is affine uint8
 * (`quantization: {dtype: 'uint8', min, scale}`). modelpress did not build it
 * (no `build:`), which is the point: it is a model from outside.
 *
 * Run from the repository root after `npm run build` (it uses dist/ for the
 * MNIST loader, the wasm training kernels, the uint8 quantizer and the
 * model writer):
 *
 *   node examples/pretrained/make-model.mjs                       # examples/pretrained/mobilenet-v2-mnist/
 *   node examples/pretrained/make-model.mjs --tiny                # test/fixtures/models/mobilenet-tiny/
 *
 * Options (defaults in brackets): --out DIR, --alpha [0.35], --size [32],
 * --blocks [17], --last-filters [Keras' rule: 1280], --epochs [1],
 * --train-limit [60000], --batch [64], --lr [0.002], --seed [1],
 * --backend [wasm]. `--tiny` means --blocks 5 --last-filters 64 --size 16 --epochs 3
 * --train-limit 2048 --out test/fixtures/models/mobilenet-tiny: blocks 0-2
 * hold two stride-2 blocks and two residual Adds (block_2_add, block_4_add).
 *
 * Input: MNIST digits resized bilinearly from 28x28 to size x size and
 * replicated to 3 channels, scaled to [-1, 1] as Keras'
 * mobilenet_v2.preprocess_input does: the mnist loader's `size`,
 * `channels: 3` and `normalize: symmetric`. Why 32x32: the smallest size at which
 * all five stride-2 stages of MobileNetV2 still have a pixel (32 -> 1x1 at
 * the last block), so the whole 17-block network is used as Keras builds it,
 * while one epoch over 60k digits stays a few minutes on wasm.
 *
 * BatchNormalization is trained with momentum 0.9 and saved with Keras'
 * 0.999, and after training its moving statistics are recalibrated: 50
 * forward passes in training mode over training batches, no weight updates
 * (with 0.9, the last ~10 batches dominate). Without this a short schedule
 * leaves them near their initial mean 0 / variance 1 (0.999^400 = 67% of
 * the initial values remain) and the model predicts one class at inference
 * (a first run made 9.8% test accuracy). Momentum is a training
 * hyperparameter only; the saved config is exactly Keras'.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mobileNetV2 } from './mobilenet-v2.mjs';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' }, alpha: { type: 'string', default: '0.35' }, size: { type: 'string' },
    blocks: { type: 'string' }, 'last-filters': { type: 'string' }, epochs: { type: 'string' },
    'train-limit': { type: 'string' }, batch: { type: 'string', default: '64' }, lr: { type: 'string', default: '0.002' },
    seed: { type: 'string', default: '1' }, backend: { type: 'string', default: 'wasm' }, tiny: { type: 'boolean', default: false },
  },
});
const tiny = args.tiny;
const o = {
  out: args.out ?? (tiny ? 'test/fixtures/models/mobilenet-tiny' : 'examples/pretrained/mobilenet-v2-mnist'),
  alpha: Number(args.alpha),
  size: Number(args.size ?? (tiny ? 16 : 32)),
  blocks: Number(args.blocks ?? (tiny ? 5 : 17)),
  lastFilters: args['last-filters'] !== undefined ? Number(args['last-filters']) : tiny ? 64 : undefined,
  epochs: Number(args.epochs ?? (tiny ? 3 : 1)),
  trainLimit: Number(args['train-limit'] ?? (tiny ? 2048 : 60000)),
  batch: Number(args.batch),
  lr: Number(args.lr),
  seed: Number(args.seed),
  backend: args.backend,
};
for (const [k, v] of Object.entries(o)) {
  if (typeof v === 'number' && !(v > 0)) throw new Error(`Expected --${k} to be a positive number, got ${v}`);
}

const { loadTf } = await import('../../dist/engine/tf.js');
const { registerWasmTrainingKernels } = await import('../../dist/engine/kernels/index.js');
const { mnistLoader } = await import('../../dist/data/mnist.js');
const { runEpochs, evaluateAccuracy } = await import('../../dist/stages/training/train-loop.js');
const { writeModelArtifacts } = await import('../../dist/engine/model-io.js');
const { quantizeTensor, quantizedWeight, splitWeights, decodeFloat32, withWeights } = await import('../../dist/formats/weight-quantization.js');
const { mulberry32 } = await import('../../dist/data/dataset.js');

const tf = await loadTf(o.backend, { beforeReady: (t) => { if (o.backend === 'wasm') registerWasmTrainingKernels(t); } });

/**
 * MNIST split as size x size x 3 in [-1, 1], through the mnist loader's own
 * options (`{ uses: mnist, size, channels: 3, normalize: symmetric }` in a
 * recipe), so the data a recipe evaluates on is the data the model was
 * trained on, by construction. (The shipped weights were trained before the
 * loader had `size`, with tf.image.resizeBilinear's default of no half-pixel
 * centres; the loader resizes with half-pixel centres like TF2's
 * tf.image.resize. On the first 2,000 test digits the shipped model scores
 * 80.85% on the old input and 80.70% on the loader's: the same model.)
 */
async function digits(split, limit) {
  const ds = await mnistLoader.load({ split, limit, size: [o.size, o.size], channels: 3, normalize: 'symmetric' }, { baseDir: process.cwd() });
  return { ...ds, name: `mnist-${split}-${o.size}x${o.size}x3` };
}

const train = await digits('train', o.trainLimit);
const test = await digits('test', undefined);
const spec = { alpha: o.alpha, inputShape: [o.size, o.size, 3], classes: 10, blocks: o.blocks, lastFilters: o.lastFilters };

// tfjs initialisers draw their seeds from Math.random: seed it so reruns match.
const original = Math.random;
Math.random = mulberry32(o.seed);
const trained = mobileNetV2(tf, { ...spec, bnMomentum: 0.9 });
Math.random = original;

const t0 = performance.now();
const run = await runEpochs(
  tf, trained,
  { epochs: o.epochs, batchSize: o.batch, optimizer: 'adam', learningRate: o.lr, momentum: 0.9, schedule: { kind: 'cosine' } },
  { data: train, seed: o.seed, shuffleSeed: o.seed + 1, signal: new AbortController().signal },
  { afterStep: (s) => { if (s % 50 === 0) process.stderr.write(`step ${s}\n`); } },
);
const trainSeconds = (performance.now() - t0) / 1000;

// Batch-norm recalibration (see the file comment): forward passes only.
const RECALIBRATION_BATCHES = 50;
for (let b = 0; b < RECALIBRATION_BATCHES; b++) {
  const start = (b * o.batch) % Math.max(1, train.count - o.batch);
  const n = Math.min(o.batch, train.count);
  const size = o.size * o.size * 3;
  tf.tidy(() => trained.apply(tf.tensor4d(train.x.subarray(start * size, (start + n) * size), [n, o.size, o.size, 3]), { training: true }));
}

// The saved model: Keras' own BN momentum, the trained weights.
const model = mobileNetV2(tf, spec);
model.setWeights(trained.getWeights());
const floatEval = await evaluateAccuracy(tf, model, test, 256);

let artifacts;
await model.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
const quantized = splitWeights(artifacts).map((w) => quantizedWeight(w.spec.name, w.spec.shape, quantizeTensor(decodeFloat32(w), 'uint8')));
const converted = withWeights(
  {
    ...artifacts,
    format: 'layers-model',
    generatedBy: 'keras v2.15.0 (layout; written by modelpress examples/pretrained/make-model.mjs)',
    convertedBy: 'TensorFlow.js Converter v4.22.0 (layout; written by make-model.mjs)',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: { class_name: 'Functional', config: artifacts.modelTopology.config },
    },
    trainingConfig: undefined,
  },
  quantized,
);
await mkdir(o.out, { recursive: true });
await writeModelArtifacts(converted, o.out);

// Accuracy of what was written (uint8 weights), through stock tfjs loading.
const { loadModelDir } = await import('../../dist/engine/model-io.js');
const reloaded = await loadModelDir(o.out, { tf });
const uint8Eval = await evaluateAccuracy(tf, reloaded, test, 256);
const record = {
  model: `MobileNetV2 alpha ${o.alpha}, ${o.blocks} of 17 blocks, input ${o.size}x${o.size}x3, 10 classes`,
  layers: model.layers.length,
  params: model.countParams(),
  data: { train: `MNIST train, first ${train.count}`, test: 'MNIST test (10,000)', preprocessing: `mnist loader: size [${o.size}, ${o.size}] (bilinear, half-pixel centres; area when shrinking), channels 3, normalize symmetric (x/127.5-1)` },
  training: { epochs: o.epochs, batch: o.batch, optimizer: 'adam', lr: o.lr, schedule: 'cosine', bnMomentumWhileTraining: 0.9, bnRecalibrationBatches: RECALIBRATION_BATCHES, seed: o.seed, backend: tf.getBackend(), seconds: Math.round(trainSeconds), loss: run.epochs.map((e) => Number(e.loss.toFixed(4))) },
  test: { float32Accuracy: Number(floatEval.accuracy.toFixed(2)), uint8Accuracy: Number(uint8Eval.accuracy.toFixed(2)), uint8Loss: Number(uint8Eval.loss.toFixed(4)) },
};
await writeFile(join(o.out, 'accuracy.json'), JSON.stringify(record, null, 2) + '\n');
console.log(JSON.stringify(record, null, 2));
