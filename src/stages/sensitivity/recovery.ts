/**
 * Recovery-aware sensitivity: before a point is measured, a short fine-tune
 * with the option held (pruned weights kept at zero, shared weights kept in
 * their clusters: the share stage's constraint hooks; a storage dtype is
 * applied after the fine-tune, as quantize after a fine-tuned model), and the
 * baseline is the unmodified model after the same fine-tune (a control, so
 * a drop is not lowered by what the extra training gains any model). Without it a point
 * is the drop right after the change, which ranks options by how much
 * damage fine-tuning has to undo, not by how much it cannot undo: 95%
 * sparsity reads as ruinous and 2-bit sharing as cheap, while after
 * fine-tuning (what every auto trial gets) it is the other way round, and an
 * allocator fed the raw drops chooses 2 bits everywhere.
 *
 * The fine-tune is the same for every point (the same seeded examples, the
 * same steps), so the points stay comparable with each other.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Dataset, StageContext } from '../../stage-definition.js';
import { splitDataset } from '../../data/dataset.js';
import type { SensitivityRecovery } from '../../contracts/sensitivity.js';
import { finetune, RECALIBRATE_BATCHES } from '../training/finetune.js';
import type { FinetuneConfig, FinetuneHooks } from '../training/finetune.js';

export interface RecoveryConfig {
  steps: number;
  batchSize: number;
  learningRate: number;
  /** Dataset fine-tuned on; default: the sensitivity's `data` (its calibration split left out). */
  data?: string;
}

export const recoverySchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'A short fine-tune before each point is measured, with the option held (pruned weights stay zero, shared weights stay in their clusters; a narrowed model trains as it is; a dtype is applied after it); the baseline gets the same fine-tune. The table then says what fine-tuning cannot undo, which is what an `auto` search that fine-tunes its trials should allocate by. Costs `steps` training steps per point. Default: `steps: 0` (the drop right after the change, no fine-tuning).',
  properties: {
    steps: { type: 'integer', minimum: 0, default: 0, description: 'Adam steps per point (0: off). Example: 200 (about a fifth of an MNIST epoch at batch 64).' },
    batchSize: { type: 'integer', minimum: 1, default: 64, description: 'Examples per step. Default: 64.' },
    learningRate: { type: 'number', exclusiveMinimum: 0, default: 0.001, description: 'Adam learning rate. Default: 0.001.' },
    data: { type: 'string', description: 'Dataset fine-tuned on. Default: the sensitivity\'s `data`, without its calibration split.' },
  },
} as const;

/** What a sensitivity stage needs to fine-tune each point: the seeded examples and the fine-tune settings. */
export interface Recovery {
  record: SensitivityRecovery;
  /** Fine-tunes `model` in place with `hooks` holding the option. */
  run(model: LayersModel, hooks: FinetuneHooks): Promise<void>;
}

/**
 * The recovery of a sweep, or undefined when `steps` is 0. `rest` is the
 * sensitivity data without its calibration split: used when `data` names
 * the same dataset, so no calibration example is trained on.
 */
export async function makeRecovery(ctx: StageContext, config: RecoveryConfig, sensitivityData: string, rest: Dataset): Promise<Recovery | undefined> {
  if (config.steps === 0) return undefined;
  const name = config.data ?? sensitivityData;
  const source = name === sensitivityData ? rest : await ctx.data(name);
  const wanted = config.steps * config.batchSize;
  // One epoch over exactly `steps` batches: a seeded sample, the same for every point.
  const examples = wanted < source.count ? splitDataset(source, wanted / source.count, ctx.seed + 5)[1] : source;
  const settings: FinetuneConfig = {
    data: name,
    epochs: 1,
    batchSize: config.batchSize,
    optimizer: 'adam',
    learningRate: config.learningRate,
    momentum: 0.9,
    schedule: { kind: 'constant', every: 1, factor: 0.5, minLearningRate: 0 },
    recalibrateBatchNorm: RECALIBRATE_BATCHES,
  };
  // Each point's fine-tune is a step of the sweep, not a stage of its own: its epoch progress would drown the sweep's.
  const quiet: StageContext = { ...ctx, progress: () => {} };
  return {
    record: { steps: Math.ceil(examples.count / config.batchSize), batchSize: config.batchSize, learningRate: config.learningRate, data: name },
    async run(model, hooks) {
      await finetune(quiet, model, settings, hooks, examples);
    },
  };
}
