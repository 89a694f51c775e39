/**
 * Stage `example/init-mlp`: builds a dense MLP (inputs -> units... -> classes)
 * with seeded initialisation and saves it as a standard tfjs LayersModel
 * directory (model.json + weight shards), all through `ctx.engine`.
 *
 * Why: the custom-stages example needs a model without downloading one. The weights are
 * untrained, which is enough to show what pruning does to size; a real recipe
 * starts from `model: { from: ... }` or a `train` stage instead.
 *
 * The output loads with stock `tf.loadLayersModel`, so any tfjs tool (and the
 * next stage) can read it. Same seed + same options -> byte-identical files,
 * which is what makes the cache key (stage version + config + seed) honest.
 */
import { defineStage } from 'modelpress/plugin';

export default defineStage({
  name: 'example/init-mlp',
  // Bump whenever the bytes this stage writes change for the same config:
  // the version is part of the cache key, so old cached models are not reused.
  // 2: saved through ctx.engine.saveModel, computed on the run's backend.
  version: '2',
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
    // tfjs from ctx.engine: the same tfjs instance modelpress uses, already
    // on the run's backend (the one the cache key records). No tfjs import of
    // our own, so `modelpress validate`, which imports every plugin just to
    // read its schema, does not load tfjs either.
    const tf = await ctx.engine.tf();

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
    // model.json + weight shards, loadable by stock tf.loadLayersModel (tfjs's
    // own `file://` saver needs tfjs-node, which is usually not installed).
    await ctx.engine.saveModel(model, dir);
    const metrics = { params: model.countParams(), layers: model.layers.length };
    model.dispose();
    ctx.logger.info(`built MLP ${[inputs, ...widths].join('-')}`, metrics);
    return { outputs: { model: dir }, metrics };
  },
});

/** Mixes the recipe seed and the layer index into a 32-bit seed (xorshift-multiply hash). */
function layerSeed(seed, index) {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
