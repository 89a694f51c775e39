/**
 * Fine-tuning shared by the compression stages (prune's gradual schedule,
 * share's centroid updates, quantize's fake-quant training, distill): the
 * `finetune:` option's schema and `finetune()`, which runs the one training
 * loop (train-loop.ts) with the stage's hooks on a recipe dataset.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import type { StageContext } from '../../plugin.js';
import { missingLabels, runEpochs } from './train-loop.js';
import { StageConfigError } from '../../plugin.js';
import type { TrainingHooks, TrainingSettings } from './train-loop.js';
import { augmentation, augmentSchema } from './augmentation.js';
import type { AugmentConfig } from './augmentation.js';
import { recalibrateBatchNorm } from './recalibrate-batch-norm.js';
import type { RecalibrationResult } from './recalibrate-batch-norm.js';

export interface FinetuneConfig extends TrainingSettings {
  /** Dataset name under the recipe's `data:`. */
  data: string;
  augment?: AugmentConfig;
  /** Batches of forward passes that re-estimate BatchNormalization statistics after fine-tuning (0: off). Default 20. */
  recalibrateBatchNorm?: number;
}

/** Default of `finetune.recalibrateBatchNorm`. */
export const RECALIBRATE_BATCHES = 20;

/** The `finetune:` option every compression stage offers; `epochs: 0` (the default) skips it. */
export const finetuneSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'Retraining after (or during) compression, with the constraint re-applied after every step.',
  properties: {
    data: { type: 'string', default: 'train', description: 'Dataset to fine-tune on.' },
    epochs: { type: 'integer', minimum: 0, default: 0, description: '0 = no fine-tuning.' },
    batchSize: { type: 'integer', minimum: 1, default: 64 },
    microBatchSize: { type: 'integer', minimum: 1, description: 'Examples per forward/backward pass; their gradients are summed into one optimizer step per batchSize. Default: batchSize, or on wasm the largest batch that fits the 4 GiB heap when batchSize does not (measured before the first step).' },
    workers: { type: 'integer', minimum: 1, maximum: 64, description: 'Default 1 (left out of the config, so existing cache keys stay). Threads that share each batch (data parallel): each computes the gradients of its part of the batch, averaged into one optimizer step. Deterministic for a fixed seed and worker count; results differ from `workers: 1` by float rounding, dropout masks and batch-norm statistics (per part). Needs the default loss. Example: 2 on a 2-core machine.' },
    optimizer: { enum: ['sgd', 'momentum', 'adam'], default: 'adam' },
    learningRate: { type: 'number', exclusiveMinimum: 0, default: 0.0001 },
    momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9 },
    schedule: {
      type: 'object',
      additionalProperties: false,
      default: { kind: 'constant' },
      properties: {
        kind: { enum: ['constant', 'step', 'exponential', 'cosine'], default: 'constant' },
        every: { type: 'integer', minimum: 1, default: 1 },
        factor: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5 },
        minLearningRate: { type: 'number', minimum: 0, default: 0 },
      },
    },
    augment: augmentSchema,
    recalibrateBatchNorm: {
      type: 'integer',
      minimum: 0,
      default: RECALIBRATE_BATCHES,
      description:
        'After fine-tuning, batches (of batchSize, at most 64) of forward passes in training mode that re-estimate every BatchNormalization layer\'s moving mean and variance as the plain average over them; no weights change. Without it a model keeping Keras\' momentum 0.999 leaves fine-tuning with statistics of the weights before compression. 0: off. Models without BatchNormalization are unaffected.',
    },
  },
} as const;

/**
 * What a compression stage may change in the loop. Without `afterEpoch`,
 * finetune reports each epoch's loss as progress; a stage that gives its own
 * (distill's validation, validation.ts) reports progress there instead.
 */
export type FinetuneHooks = TrainingHooks;

export interface FinetuneResult {
  epochs: number;
  steps: number;
  losses: number[];
  /** BatchNormalization recalibration after the last epoch, when the model has BN layers and it was on. */
  batchNorm?: RecalibrationResult;
}

export async function finetune(ctx: StageContext, model: LayersModel, config: FinetuneConfig, hooks: FinetuneHooks = {}, data?: Dataset): Promise<FinetuneResult> {
  if (config.epochs === 0) return { epochs: 0, steps: 0, losses: [] };
  const tf = await ctx.engine.tf();
  const ds = data ?? (await ctx.data(config.data));
  const missing = hooks.loss ? undefined : missingLabels(ds, 'fine-tuning');
  if (missing) throw new StageConfigError(missing, ['finetune', 'data'], ['name a labelled dataset under `finetune.data`, or set `finetune.epochs: 0`']);
  const augment = augmentation(config.augment, ds, config.data, ctx.seed + 3, ['finetune', 'augment']);
  const run = await runEpochs(
    tf,
    model,
    config,
    // Seed + 2 for shuffling: not the train stage's stream (seed + 1).
    {
      data: ds,
      ...(augment ? { augment } : {}),
      seed: ctx.seed,
      shuffleSeed: ctx.seed + 2,
      signal: ctx.signal,
      progress: (p) => ctx.progress(p),
      notice: (m) => ctx.logger.warn(m),
      progressLabel: (e, n) => `fine-tune epoch ${e}/${n}`,
    },
    {
      ...hooks,
      afterEpoch: hooks.afterEpoch ?? ((e) => ctx.progress({ done: e.epoch, total: config.epochs, unit: 'fine-tune epochs', message: `loss ${e.loss.toFixed(4)}` })),
    },
  );
  const result: FinetuneResult = { epochs: run.epochs.length, steps: run.steps, losses: run.epochs.map((e) => e.loss) };
  const batches = config.recalibrateBatchNorm ?? RECALIBRATE_BATCHES;
  if (batches > 0) {
    // Seed + 4: its own stream, so recalibration does not shift the shuffling or augmentation streams.
    const r = await recalibrateBatchNorm(tf, model, ds, { batches, batchSize: Math.min(config.batchSize, 64), seed: ctx.seed + 4, signal: ctx.signal });
    if (r.layers > 0) result.batchNorm = r;
  }
  return result;
}
