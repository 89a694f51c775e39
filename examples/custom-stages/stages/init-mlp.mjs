/**
 * Stage `example/init-mlp`: builds a dense MLP (inputs -> units... -> classes)
 * with seeded initialisation and saves it as a standard tfjs LayersModel
 * directory (model.json + group1-shard1of1.bin).
 *
 * Why: the custom-stages example needs a model without downloading one. The weights are
 * untrained, which is enough to show what pruning does to size; a real recipe
 * starts from `model: { from: ... }` or a `train` stage instead.
 *
 * The output loads with stock `tf.loadLayersModel`, so any tfjs tool (and the
 * next stage) can read it. Same seed + same options -> byte-identical files,
 * which is what makes the cache key (stage version + config + seed) honest.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage } from 'modelpress/plugin';

const SHARD = 'group1-shard1of1.bin';

export default defineStage({
  name: 'example/init-mlp',
  // Bump whenever the bytes this stage writes change for the same config:
  // the version is part of the cache key, so old cached models are not reused.
  version: '1',
  description: 'Builds a seeded, untrained dense MLP and saves it as a tfjs LayersModel.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      inputs: {
        type: 'integer',
        minimum: 1,
        default: 784,
        description: 'Input features (784 = a flattened 28x28 image).',
      },
      units: {
        type: 'array',
        items: { type: 'integer', minimum: 1 },
        maxItems: 16,
        default: [64, 32],
        description: 'Width of each hidden ReLU layer, first to last. [] builds plain softmax regression.',
      },
      classes: {
        type: 'integer',
        minimum: 2,
        default: 10,
        description: 'Output classes (width of the softmax layer).',
      },
    },
  },
  outputs: ['model'],

  async run(ctx, config) {
    // The schema's defaults have been applied by the time run() is called.
    const { inputs, units, classes } = config;
    ctx.signal.throwIfAborted();
    // Imported here, not at the top: `modelpress validate` imports every plugin
    // just to read its schema, and loading tfjs would add a few hundred ms to it.
    // `@tensorflow/tfjs` is a direct dependency of modelpress; importing
    // tfjs-core/-layers/-backend-cpu separately loads a little faster but relies
    // on npm hoisting them, which strict package managers (pnpm) do not do.
    const tf = await import('@tensorflow/tfjs');
    await quietBackend(tf);

    const widths = [...units, classes];
    const model = tf.sequential({ name: 'quickstart_mlp' });
    widths.forEach((width, i) => {
      const last = i === widths.length - 1;
      model.add(
        tf.layers.dense({
          // Explicit names: tfjs's default names (`dense_Dense3`) come from a
          // process-wide counter, so they would differ between runs and change
          // the artifact's digest for no reason.
          name: last ? 'logits' : `hidden${i + 1}`,
          units: width,
          activation: last ? 'softmax' : 'relu',
          ...(i === 0 ? { inputShape: [inputs] } : {}),
          // A distinct seed per layer, all derived from the recipe's seed: same
          // seed, same weights. (One seed for every layer would give layers of
          // the same shape identical weights.)
          kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(ctx.seed, i) }),
          biasInitializer: 'zeros',
        }),
      );
    });

    const dir = await ctx.outputDir('model');
    await saveLayersModel(tf, model, dir);
    const metrics = { params: model.countParams(), layers: model.layers.length };
    model.dispose();
    ctx.logger.info(`built MLP ${[inputs, ...widths].join('-')}`, metrics);
    return { outputs: { model: dir }, metrics };
  },
});

/**
 * Writes model.json + one weight shard, the layout `tf.io.browserFiles` and
 * tfjs-node's `file://` saver produce. `file://` itself needs tfjs-node (not
 * installed), hence the save handler and node:fs.
 */
async function saveLayersModel(tf, model, dir) {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      // weightData is an ArrayBuffer or (tfjs >= 4.10) a list of them.
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      // Same keys, same order as tfjs's own getModelJSONForModelArtifacts.
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format, // 'layers-model'
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [SHARD], weights: artifacts.weightSpecs }],
      };
      await writeFile(join(dir, SHARD), weights);
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(modelJson) };
    }),
  );
}

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in
 * Node.js. To speed things up dramatically, install our node backend ..." to
 * stderr the first time it stores a tensor when the IS_NODE flag is true. It
 * goes through tfjs's warn(), which stays silent while the PROD flag is set.
 * So: turn PROD on only around that first write and restore it. This keeps
 * every other tfjs warning, and does not lie about the platform (setting
 * IS_NODE to false would also change how tfjs-data and the wasm backend load
 * files). Setting PROD for good (tf.enableProdMode()) would work too, but
 * would silence other warnings for everything else running in this worker.
 */
async function quietBackend(tf) {
  await tf.ready();
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    env.set('PROD', prod);
  }
}

/** Mixes the recipe seed and the layer index into a 32-bit seed (xorshift-multiply hash). */
function layerSeed(seed, index) {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
