/**
 * Per-epoch validation and early stopping, shared by the stages that train a
 * model from scratch (`train`, `distill`): the `validation:` and
 * `earlyStopping:` options' schemas, the seeded split of held-out data off the
 * training set, and `epochValidator`, the `afterEpoch` hook that validates,
 * reports progress, keeps the best epoch's weights and says when to stop.
 *
 * Hyper-parameters (how many epochs, which checkpoint) are chosen on this
 * held-out split, never on the dataset a stage reports (`eval:`).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { splitDataset } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../stage-definition.js';
import type { EpochSummary } from './train-loop.js';
import { evaluateAccuracy } from './train-loop.js';

export interface ValidationConfig {
  data?: string;
  split: number;
}

export interface EarlyStoppingConfig {
  patience: number;
  minDelta: number;
  monitor: 'val_loss' | 'val_acc';
}

export const validationSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Held-out data for per-epoch validation and early stopping: another dataset, or a fraction split off the training data (seeded).',
  properties: {
    data: { type: 'string', description: 'A dataset name; takes precedence over `split`.' },
    split: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Fraction of the training data held out (0 = none).' },
  },
} as const;

export const earlyStoppingSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Stop when the monitored validation value has not improved for `patience` epochs; the best epoch\'s weights are kept.',
  properties: {
    patience: { type: 'integer', minimum: 1, default: 2 },
    minDelta: { type: 'number', minimum: 0, default: 0 },
    monitor: { enum: ['val_loss', 'val_acc'], default: 'val_loss' },
  },
} as const;

/**
 * The data to fit on and the held-out set: `validation.data` as is, or
 * `validation.split` of `train` split off with the recipe seed (the same
 * examples whichever stage asks, so a teacher and its students agree on what
 * they never trained on).
 */
export async function splitValidation(
  ctx: StageContext,
  validation: ValidationConfig | undefined,
  earlyStopping: EarlyStoppingConfig | undefined,
  train: Dataset,
): Promise<{ fit: Dataset; val?: Dataset }> {
  // Early stopping watches validation: without held-out data it could never act.
  if (earlyStopping && !validation?.data && !validation?.split) {
    throw new StageConfigError('earlyStopping needs held-out data to watch, and this stage has none', ['earlyStopping'], [
      'add `validation: { split: 0.1 }` (a seeded tenth of the training data) or `validation: { data: <dataset> }`, or remove `earlyStopping`',
    ]);
  }
  if (validation?.data) return { fit: train, val: await ctx.data(validation.data) };
  if (!validation?.split) return { fit: train };
  const [fit, val] = splitDataset(train, validation.split, ctx.seed);
  return { fit, val };
}

export interface EpochValidatorOptions {
  /** The model validated, and whose weights are kept at the best epoch (with its softmax). */
  model: LayersModel;
  val?: Dataset;
  earlyStopping?: EarlyStoppingConfig;
  /** Planned epochs and their unit, for progress. */
  total: number;
  unit: string;
  /** Runs before validating, e.g. to copy the weights being trained into `model`. */
  sync?: () => void;
}

export interface EpochValidator {
  /** The hook for runEpochs: validates, records, reports, and returns 'stop' when patience runs out. */
  afterEpoch: (e: EpochSummary) => Promise<void | 'stop'>;
  /** One entry per epoch: epoch, lr, loss, ms, and val_loss / val_acc when there is a held-out set. */
  history: Record<string, Json>[];
  /**
   * Puts the best epoch's weights back into `model` if training went on past
   * it. Returns the epoch kept by early stopping (undefined without it) and
   * the history entry of the weights `model` now holds, whose val_loss /
   * val_acc need no second evaluation.
   */
  restoreBest(): { bestEpoch: number | undefined; kept: Record<string, Json> | undefined };
}

export function epochValidator(ctx: StageContext, tf: Tf, opts: EpochValidatorOptions): EpochValidator {
  const { model, val, earlyStopping: es } = opts;
  const history: Record<string, Json>[] = [];
  let best: { epoch: number; value: number; weights: Float32Array[] } | undefined;
  let stale = 0;
  const afterEpoch = async (e: EpochSummary): Promise<void | 'stop'> => {
    const entry: Record<string, Json> = { epoch: e.epoch, lr: e.lr, loss: e.loss, ms: e.ms };
    if (val) {
      opts.sync?.();
      const v = await evaluateAccuracy(tf, model, val, 512, ctx.signal);
      entry.val_loss = v.loss;
      entry.val_acc = v.accuracy;
    }
    history.push(entry);
    ctx.progress({ done: e.epoch, total: opts.total, unit: opts.unit, message: describeEpoch(entry) });
    if (!es || !val) return;
    const value = es.monitor === 'val_loss' ? (entry.val_loss as number) : -(entry.val_acc as number);
    if (!best || value < best.value - es.minDelta) {
      best = { epoch: e.epoch, value, weights: await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array)) };
      stale = 0;
    } else if (++stale >= es.patience) {
      ctx.logger.info(`early stopping after epoch ${e.epoch}: best was epoch ${best.epoch}`);
      return 'stop';
    }
  };
  return {
    afterEpoch,
    history,
    restoreBest() {
      const kept = best;
      if (kept && kept.epoch !== history.length) {
        const weights = model.getWeights().map((w, i) => tf.tensor(kept.weights[i]!, w.shape, w.dtype));
        model.setWeights(weights);
        tf.dispose(weights); // setWeights copies into the model's variables
      }
      return { bestEpoch: kept?.epoch, kept: history[(kept?.epoch ?? history.length) - 1] };
    },
  };
}

function describeEpoch(e: Record<string, Json>): string {
  const parts = [`loss ${(e.loss as number).toFixed(4)}`];
  if (typeof e.val_acc === 'number') parts.push(`val_acc ${e.val_acc.toFixed(2)}%`); // evaluateAccuracy gives percent
  parts.push(`${e.ms} ms`);
  return parts.join(', ');
}
