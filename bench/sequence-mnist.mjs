// One short training of a sequence arch on row-by-row MNIST (each image as
// 28 time steps of 28 pixels, what the mnist loader's `layout: sequence`
// yields), on the backend modelpress trains on: seconds per epoch and test
// accuracy. What examples/sequence/*.yaml do, on a subset, so it fits in a
// few minutes on a shared machine. Not a test.
//
//   npm run build && node bench/sequence-mnist.mjs [--arch lstm|gru|conv1d|transformer]
//       [--train N] [--test N] [--epochs N] [--batch N] [--backend wasm|cpu]
//
// The model is src/engine/builders.ts's default for the arch (seed 42),
// trained with Adam 1e-3 and categorical cross-entropy through model.fit
// (the train stage's loop does the same steps with its own bookkeeping).
// The images are reshaped here from [28, 28, 1] to [28, 28], which is all
// `layout: sequence` does.
import { loadavg } from 'node:os';
import { parseBenchArgs } from './lib/cli.mjs';

const { values: args } = parseBenchArgs({
    arch: { type: 'string', default: 'lstm' },
    train: { type: 'string', default: '6000' },
    test: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '1' },
    batch: { type: 'string', default: '128' },
    backend: { type: 'string', default: 'wasm' },
  }, import.meta.url);

const { loadTf } = await import('../dist/engine/tf.js');
const { registerWasmTrainingKernels } = await import('../dist/engine/kernels/index.js');
const { buildModel } = await import('../dist/engine/builders.js');
const { mnistLoader } = await import('../dist/data/mnist.js');

const tf = await loadTf(args.backend, { beforeReady: (t) => { if (args.backend === 'wasm') registerWasmTrainingKernels(t); } });
const load = async (split, limit) => {
  const d = await mnistLoader.load({ split, limit }, { baseDir: process.cwd() });
  return { x: tf.tensor(d.x, [d.count, 28, 28]), y: tf.oneHot(tf.tensor1d(d.y, 'int32'), 10), count: d.count };
};
const train = await load('train', Number(args.train));
const test = await load('test', Number(args.test));

const model = buildModel(tf, { arch: args.arch, inputShape: [28, 28], classes: 10 }, 42);
model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
console.log(`${args.arch}: ${model.countParams()} parameters, ${train.count} train / ${test.count} test examples, backend ${tf.getBackend()}, load ${loadavg()[0].toFixed(2)}`);

for (let e = 1; e <= Number(args.epochs); e++) {
  const t0 = performance.now();
  const h = await model.fit(train.x, train.y, { epochs: 1, batchSize: Number(args.batch), shuffle: true, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const [, acc] = model.evaluate(test.x, test.y, { batchSize: 500 });
  console.log(`epoch ${e}: ${seconds.toFixed(1)} s (${(train.count / seconds).toFixed(0)} examples/s), loss ${h.history.loss[0].toFixed(4)}, test accuracy ${(100 * (await acc.data())[0]).toFixed(2)}%`);
}
console.log(`load average after: ${loadavg()[0].toFixed(2)}`);
