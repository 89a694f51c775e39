#!/usr/bin/env node
/**
 * Accuracy of two small text classifiers on examples/text/fortunes.tsv, read
 * through the `text` loader exactly as examples/text/recipe.yaml reads it
 * (same split, vocabulary, length), so the numbers say what the data allows
 * before any compression. Plain tfjs models, because the recipe's
 * `build: { arch: gru, embedding }` is another piece of work:
 *
 *   bag: Embedding(V, 32) -> GlobalAveragePooling1D -> Dense(C)   (fastText-like)
 *   gru: Embedding(V, 32, maskZero) -> GRU(32) -> Dense(C)         (the recipe's model)
 *
 * Run from the repository root after `npm run build` and make-dataset.mjs:
 *
 *   node examples/text/baseline.mjs [--epochs 15] [--seed 1] [--models bag,gru]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { epochs: { type: 'string', default: '15' }, seed: { type: 'string', default: '1' }, models: { type: 'string', default: 'bag,gru' } },
});
const tf = await import('@tensorflow/tfjs');
await tf.setBackend('cpu');
// The gradient of an Embedding lookup is UnsortedSegmentSum, which tfjs' cpu
// kernel computes as one masked sum per vocabulary entry: O(vocabulary x
// batch tokens x dimensions), minutes per epoch at 4000 ids. The same sum in
// one pass over the rows; the wasm backend has no such kernel at all (yet).
tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
tf.registerKernel({
  kernelName: 'UnsortedSegmentSum',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs;
    const values = backend.data.get(x.dataId).values;
    const ids = backend.data.get(segmentIds.dataId).values;
    const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(attrs.numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i];
      if (s < 0 || s >= attrs.numSegments) continue;
      for (let j = 0; j < inner; j++) out[s * inner + j] += values[i * inner + j];
    }
    return backend.makeTensorInfo([attrs.numSegments, ...x.shape.slice(1)], x.dtype, out);
  },
});
const { textLoader } = await import('../../dist/data/text/text.js');

// The recipe's dataset entries (examples/text/recipe.yaml).
const common = { file: 'fortunes.tsv', length: 64, vocabulary: 4000, split: { test: 0.2, seed: 1 } };
const ctx = { baseDir: here };
const train = await textLoader.load({ ...common, split: { ...common.split, take: 'train' } }, ctx);
const test = await textLoader.load({ ...common, split: { ...common.split, take: 'test' } }, ctx);
const V = train.vocabulary.length;
const C = train.classes;
const unk = (ds) => ds.x.reduce((n, v) => n + (v === 1 ? 1 : 0), 0) / ds.x.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
console.log(`train ${train.count}, test ${test.count}, classes ${C} (${train.classNames.join(', ')}), vocabulary ${V}`);
console.log(`unknown tokens: train ${(100 * unk(train)).toFixed(1)}%, test ${(100 * unk(test)).toFixed(1)}% (test words outside the training vocabulary)`);
const counts = new Array(C).fill(0);
for (const y of test.y) counts[y]++;
console.log(`majority class on test: ${((100 * Math.max(...counts)) / test.count).toFixed(1)}%`);

const tensors = (ds) => [tf.tensor2d(ds.x, [ds.count, ds.shape[0]]), tf.oneHot(tf.tensor1d(ds.y, 'int32'), C)];
const [xTrain, yTrain] = tensors(train);
const [xTest, yTest] = tensors(test);

function build(kind, seed) {
  const init = (s) => tf.initializers.glorotUniform({ seed: seed + s });
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: V, outputDim: 32, inputLength: train.shape[0], maskZero: kind === 'gru', embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }) }));
  if (kind === 'bag') model.add(tf.layers.globalAveragePooling1d());
  else model.add(tf.layers.gru({ units: 32, kernelInitializer: init(1), recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 2 }) }));
  model.add(tf.layers.dense({ units: C, activation: 'softmax', kernelInitializer: init(3) }));
  model.compile({ optimizer: tf.train.adam(kind === 'bag' ? 0.01 : 0.005), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

for (const kind of args.models.split(',')) {
  const model = build(kind, Number(args.seed));
  const t0 = performance.now();
  await model.fit(xTrain, yTrain, { epochs: Number(args.epochs), batchSize: 32, shuffle: true, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const [, acc] = model.evaluate(xTest, yTest, { batchSize: 256 });
  const params = model.countParams();
  console.log(`${kind}: test accuracy ${(100 * (await acc.data())[0]).toFixed(1)}%, ${params} parameters, ${args.epochs} epochs in ${seconds.toFixed(1)} s`);
}
