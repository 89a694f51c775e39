/**
 * A trial's pruning raised gradually while it retrains (the auto stage's
 * `pruneSchedule`): the prune stage's `schedule:` (Zhu & Gupta's AGP,
 * prune-schedule.ts) on the sparsities the search allocated, through the
 * same masking (prune-magnitude.ts's scheduledMasks: the smallest
 * magnitudes, re-imposed after every step and recomputed on the schedule),
 * so the recipe fragment's prune stage with that schedule retrains as the
 * trial did.
 *
 * Why: at the extreme sparsities a tight size budget asks for, cutting at
 * once costs more than retraining wins back. LeNet-5 with conv2 / dense1 /
 * dense2 at 95 / 98 / 90% sparsity, 12 epochs of retraining (Adam, cosine
 * 1e-3 to 1e-5) on 54,000 training images, held-out validation accuracy
 * 99.25% before pruning: pruned at once 98.83%, raised over the first 6
 * epochs 99.22%.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import { kernelVariables, MaskSet, scheduledMasks } from '../prune/prune-magnitude.js';
import type { KernelTarget } from '../prune/prune-magnitude.js';
import type { PruneSchedule } from '../prune/prune-schedule.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import type { FinetuneHooks } from '../training/finetune.js';
import { rampEpochs } from './trial-phases.js';

export interface GradualPruning {
  /** Masks at the schedule's first sparsity are applied when this is created; `afterStep` keeps them and raises them. */
  hooks: Required<Pick<FinetuneHooks, 'afterStep'>>;
  /** Optimizer steps the ramp lasts (after them every kernel is at its allocated sparsity). */
  span: number;
  /** Frees the masks (call when fine-tuning ends). */
  dispose(): void;
}

/** Starts the schedule on every kernel of the layers `settings` give a sparsity; `epochs`: the phase's fine-tuning epochs. */
export function gradualPruning(tf: Tf, model: LayersModel, settings: Readonly<Record<string, LayerSetting>>, schedule: PruneSchedule, epochs: number, stepsPerEpoch: number): GradualPruning {
  const targets: KernelTarget[] = [];
  for (const [layer, s] of Object.entries(settings)) {
    if (s.sparsity === undefined) continue;
    for (const variable of kernelVariables(model, layer)) {
      const shape = [...variable.shape] as number[];
      targets.push({ layer, variable, shape, size: shape.reduce((a, b) => a * b, 1), final: s.sparsity });
    }
  }
  const span = rampEpochs(schedule, epochs) * stepsPerEpoch;
  const masks = new MaskSet(tf, targets, false);
  const masking = scheduledMasks(masks, schedule, span);
  masking.start();
  return {
    hooks: { afterStep: masking.afterStep },
    span,
    dispose: () => masks.dispose(),
  };
}
