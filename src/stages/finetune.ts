/**
 * Fine-tuning shared by the compression stages (prune's gradual schedule,
 * share's centroid updates, quantize's fake-quant training, distill). It is
 * the train stage's loop made open at the two places compression needs:
 *
 * - `loss(xs, ys)`: distillation replaces cross-entropy with its own loss;
 * - `transformGrads(grads)`: share sums gradients per cluster (Deep
 *   Compression eq. 3) before the optimizer sees them;
 * - `afterStep()`: prune re-applies masks and share re-snaps weights after
 *   every optimizer step, so the constraint holds whatever the optimizer did.
 *
 * Deterministic like `train`: seeded shuffling, seeded Math.random (dropout).
 */
import type { LayersModel, NamedTensorMap, Scalar, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { batches, seededRandom } from '../data/dataset.js';
import type { Tf } from '../engine/tf.js';
import type { StageContext } from '../plugin.js';
import { toTensors, withSeededMathRandom } from './train-loop.js';
import { learningRateAt } from './train-schedule.js';
import { augmentation, augmentSchema } from './augmentation.js';
import type { AugmentConfig } from './augmentation.js';
import type { Schedule } from './train-schedule.js';

/** How every training loop (train, finetune, distill) runs its epochs: the options they share. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'momentum' | 'adam';
  learningRate: number;
  momentum: number;
  schedule: Schedule;
}

export interface FinetuneConfig extends TrainingSettings {
  /** Dataset name under the recipe's `data:`. */
  data: string;
  augment?: AugmentConfig;
}

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
  },
} as const;

export interface FinetuneHooks {
  /** Loss for one batch; default: categorical cross-entropy on the softmax output. */
  loss?: (xs: Tensor, ys: Tensor, training: boolean) => Scalar;
  /** Rewrites gradients (by variable name) before the optimizer applies them. */
  transformGrads?: (grads: NamedTensorMap) => NamedTensorMap;
  /** Runs after every optimizer step (masks, re-snapping). */
  afterStep?: (step: number) => void;
  /** Runs before each epoch (0-based), e.g. to advance a pruning schedule. */
  beforeEpoch?: (epoch: number) => void | Promise<void>;
}

export interface FinetuneResult {
  epochs: number;
  steps: number;
  losses: number[];
}

export function makeOptimizer(tf: Tf, c: Pick<FinetuneConfig, 'optimizer' | 'learningRate' | 'momentum'>) {
  switch (c.optimizer) {
    case 'sgd':
      return tf.train.sgd(c.learningRate);
    case 'momentum':
      return tf.train.momentum(c.learningRate, c.momentum);
    case 'adam':
      return tf.train.adam(c.learningRate);
  }
}

export async function finetune(ctx: StageContext, model: LayersModel, config: FinetuneConfig, hooks: FinetuneHooks = {}, data?: Dataset): Promise<FinetuneResult> {
  const result: FinetuneResult = { epochs: 0, steps: 0, losses: [] };
  if (config.epochs === 0) return result;
  const tf = await ctx.engine.tf();
  const ds = data ?? (await ctx.data(config.data));
  const augment = augmentation(config.augment, ds, config.data, ctx.seed + 3, ['finetune', 'augment']);
  const loss =
    hooks.loss ?? ((xs: Tensor, ys: Tensor, training: boolean) => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training }) as Tensor).mean() as Scalar);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: import('@tensorflow/tfjs').Variable }).val);
  await withSeededMathRandom(ctx.seed, async () => {
    const optimizer = makeOptimizer(tf, config);
    const random = seededRandom(ctx.seed + 2);
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      ctx.signal.throwIfAborted();
      await hooks.beforeEpoch?.(epoch);
      (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt(config.schedule, config.learningRate, epoch, config.epochs);
      let sum = 0;
      let seen = 0;
      for (const idx of batches(ds, config.batchSize, { shuffle: true, random })) {
        const { xs, ys } = toTensors(tf, ds, idx, augment);
        const { value, grads } = tf.variableGrads(() => loss(xs, ys, true), vars);
        const applied = hooks.transformGrads ? hooks.transformGrads(grads) : grads;
        optimizer.applyGradients(Object.entries(applied).map(([name, tensor]) => ({ name, tensor })));
        hooks.afterStep?.(result.steps++);
        sum += (await value.data())[0]! * idx.length;
        seen += idx.length;
        tf.dispose([xs, ys, value, ...Object.values(grads), ...(applied === grads ? [] : Object.values(applied))]);
      }
      result.losses.push(sum / seen);
      result.epochs++;
      ctx.progress({ done: epoch + 1, total: config.epochs, unit: 'fine-tune epochs', message: `loss ${(sum / seen).toFixed(4)}` });
    }
    optimizer.dispose();
  });
  return result;
}
