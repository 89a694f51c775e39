/**
 * Built-in stage `train`: trains the upstream model (or, as a first stage, the
 * recipe's `model:`) on a named dataset, and outputs the trained tfjs model.
 *
 * The loop (train-loop.ts, shared with every stage that fine-tunes) is our
 * own rather than `model.fit`: fit shuffles with an unseeded
 * PRNG, and determinism (same seed, same backend -> same weights digest) is
 * what makes the cache and `reproduce` honest. Dropout masks come from
 * tfjs's random ops, which draw their seeds from Math.random; the stage runs
 * in its own worker thread, so Math.random is replaced there by a PRNG
 * seeded from the recipe seed for the duration of training.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { BuildSpec } from '../../engine/builders.js';
import type { Json, StageContext, StageInputs } from '../../plugin.js';
import { StageConfigError, defineStage } from '../../stage-definition.js';
import { augmentation, augmentSchema } from '../training/augmentation.js';
import type { AugmentConfig } from '../training/augmentation.js';
import { buildSpecSchema } from '../training/build-schema.js';
import { evaluateAccuracy, missingLabels, runEpochs } from '../training/train-loop.js';
import type { TrainingSettings } from '../training/train-loop.js';
import { earlyStoppingSchema, epochValidator, splitValidation, validationSchema } from '../training/validation.js';
import type { EarlyStoppingConfig, ValidationConfig } from '../training/validation.js';

export interface TrainConfig extends TrainingSettings {
  data: string;
  validation: ValidationConfig;
  eval?: string;
  earlyStopping?: EarlyStoppingConfig;
  augment?: AugmentConfig;
  build?: BuildSpec;
}

export const trainSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data: { type: 'string', default: 'train', description: 'Dataset (a name under `data:`) to train on.' },
    validation: { ...validationSchema, default: {} },
    eval: { type: 'string', description: 'Dataset to report final accuracy on (e.g. `test`).' },
    epochs: { type: 'integer', minimum: 1, maximum: 10000, default: 5 },
    batchSize: { type: 'integer', minimum: 1, default: 64 },
    microBatchSize: { type: 'integer', minimum: 1, description: 'Examples per forward/backward pass; their gradients are summed into one optimizer step per batchSize. Default: batchSize, or on wasm the largest batch that fits the 4 GiB heap when batchSize does not (measured before the first step).' },
    workers: { type: 'integer', minimum: 1, maximum: 64, description: 'Default 1 (left out of the config, so existing cache keys stay). Threads that share each batch (data parallel): each computes the gradients of its part of the batch, averaged into one optimizer step. Deterministic for a fixed seed and worker count; results differ from `workers: 1` by float rounding, dropout masks and batch-norm statistics (per part). Needs the default loss. Example: 2 on a 2-core machine.' },
    optimizer: { enum: ['sgd', 'momentum', 'adam'], default: 'adam' },
    learningRate: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
    momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9, description: 'For `optimizer: momentum`.' },
    schedule: {
      type: 'object',
      additionalProperties: false,
      default: { kind: 'constant' },
      description: 'Learning-rate schedule over epochs.',
      properties: {
        kind: { enum: ['constant', 'step', 'exponential', 'cosine'], default: 'constant' },
        every: { type: 'integer', minimum: 1, default: 1, description: '`step`: decay every N epochs.' },
        factor: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5, description: '`step` and `exponential`: multiply the rate by this.' },
        minLearningRate: { type: 'number', minimum: 0, default: 0, description: '`cosine`: the rate at the last epoch.' },
      },
    },
    earlyStopping: earlyStoppingSchema,
    build: buildSpecSchema(
      'Train a fresh model built from this spec (seeded from the recipe seed) instead of the upstream or the recipe\'s model: e.g. a teacher of another size in the same recipe.',
    ),
    augment: augmentSchema,
  },
} as const;

export const trainStage = defineStage<TrainConfig>({
  name: 'train',
  version: '1',
  description: 'Train a model on a dataset (seeded, deterministic on one backend).',
  schema: trainSchema,
  outputs: ['model'],
  // Names read with this config, so `validate` catches an undeclared one before anything trains.
  datasets: (c) => [['data'], ...(c.validation?.data ? [['validation', 'data']] : []), ...(c.eval ? [['eval']] : [])],
  async run(ctx, config, inputs) {
    const tf = await ctx.engine.tf();
    const model = await startingModel(ctx, inputs, config.build);
    const train = await ctx.data(config.data);
    // Before any work: unlabelled data would train on all-zero targets.
    const missing = missingLabels(train, 'the train stage');
    if (missing) throw new StageConfigError(missing, ['data'], ['name a labelled dataset; unlabelled data can be a distill transfer set, quantize calibration data or evaluate data']);
    const { fit, val } = await splitValidation(ctx, config.validation, config.earlyStopping, train);
    const evalSet = config.eval ? await ctx.data(config.eval) : undefined;
    const evalMissing = evalSet && missingLabels(evalSet, 'accuracy (`eval`)');
    if (evalMissing) throw new StageConfigError(evalMissing, ['eval'], ['name a labelled dataset, or leave `eval` out']);
    // Seed + 3: its own stream, so turning augmentation on leaves the shuffling order alone.
    const augment = augmentation(config.augment, fit, config.data, ctx.seed + 3);

    const t0 = performance.now();
    // Validation, progress and early stopping after each epoch (validation.ts);
    // the loop is the one every training stage shares (train-loop.ts).
    const validator = epochValidator(ctx, tf, {
      model,
      ...(val ? { val } : {}),
      ...(config.earlyStopping ? { earlyStopping: config.earlyStopping } : {}),
      total: config.epochs,
      unit: 'epochs',
    });
    // Seed + 1 for shuffling (finetune uses seed + 2).
    await runEpochs(
      tf,
      model,
      config,
      { data: fit, ...(augment ? { augment } : {}), seed: ctx.seed, shuffleSeed: ctx.seed + 1, signal: ctx.signal, progress: (p) => ctx.progress(p), notice: (m) => ctx.logger.warn(m) },
      { afterEpoch: validator.afterEpoch },
    );
    const { bestEpoch, kept } = validator.restoreBest();
    const history = validator.history;

    const metrics: Record<string, Json> = {
      epochs: history.length,
      trainMs: Math.round(performance.now() - t0),
      loss: (history.at(-1)?.loss as number) ?? null,
      history,
    };
    if (bestEpoch !== undefined) metrics.bestEpoch = bestEpoch;
    if (val) metrics.val_acc = kept!.val_acc!;
    if (evalSet) {
      const r = await evaluateAccuracy(tf, model, evalSet, 512, ctx.signal);
      metrics.accuracy = r.accuracy;
      metrics.evalDataset = config.eval!;
    }
    const dir = await ctx.outputDir('model');
    await ctx.engine.saveModel(model, dir);
    // meta.json is part of the artifact, so it holds only what is reproducible:
    // wall times would make two identical trainings differ in digest.
    const { trainMs: _t, history: timed, ...quality } = metrics;
    const untimed = (timed as Record<string, Json>[]).map(({ ms: _ms, ...h }) => h);
    await writeFile(join(dir, 'meta.json'), `${JSON.stringify({ stage: 'train', metrics: { ...quality, history: untimed } }, null, 2)}\n`);
    return { outputs: { model: dir }, metrics };
  },
});

/** `build:` when given, else the upstream model, else the recipe's `model:` (loaded or built). */
async function startingModel(ctx: StageContext, inputs: StageInputs, build: BuildSpec | undefined): Promise<LayersModel> {
  if (build) {
    try {
      return await ctx.engine.buildModel(build);
    } catch (err) {
      if (err instanceof TypeError) throw new StageConfigError(`build: ${err.message}`, ['build']);
      throw err;
    }
  }
  if (inputs.model) return ctx.engine.loadModel(inputs.model.dir);
  const spec = ctx.recipe.model as { from?: string; build?: BuildSpec } | undefined;
  if (spec?.from) return ctx.engine.loadModel(resolve(ctx.recipeDir, spec.from));
  if (spec?.build) return ctx.engine.buildModel(spec.build);
  throw new Error('nothing to train: give the recipe a `model:` (from or build) or put a stage that outputs a model before this one');
}
