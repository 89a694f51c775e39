/**
 * How a trial's fine-tuning epochs are split (Deep Compression's order):
 * when the trial both prunes and shares, the survivors of pruning are
 * retrained first and the centroids of the retrained survivors fine-tuned
 * after; otherwise every epoch goes to the one phase. The trial (auto.ts)
 * and the recipe fragment it writes (recipe-fragment.ts) use the same
 * split, so the fragment retrains as the trial did.
 *
 * With a pruning schedule (`gradual`), a trial that prunes and does not
 * share spends every epoch in the pruning phase: the ramp happens there.
 *
 * The centroid phase gets a quarter of the epochs (rounded down, at least
 * one) and retraining the rest, as Deep Compression's own schedule gives
 * most of its retraining to the pruned network. Measured on the held-out
 * validation split (LeNet-300-100 at 90/90/70% sparsity, trained with
 * 2-pixel shifts to 98.93%): retraining the survivors 4, 8 and 16 epochs
 * gave 98.25, 98.43 and 98.62%; four epochs of centroid fine-tuning after
 * the 4-epoch retrain gave 98.27, 98.32 and 98.25% with dense1 at 2, 4 and
 * 6 bits, i.e. no more than the retrain had (docs/auto.md, "Trial").
 */
import type { LayerSetting } from '../sensitivity/layer-setting.js';

export interface TrialPhases {
  /** Epochs after pruning (or while it rises, with a schedule), before sharing (0: one phase). */
  prune: number;
  /** Epochs after sharing (or after pruning alone, when nothing is shared). */
  share: number;
}

export function trialPhases(epochs: number, settings: Readonly<Record<string, LayerSetting>>, gradual = false): TrialPhases {
  const all = Object.values(settings);
  const sparse = all.some((s) => s.sparsity !== undefined);
  const both = sparse && all.some((s) => s.bits !== undefined);
  // Raised gradually, sparsity needs the retraining to happen in: without sharing, every epoch prunes.
  if (gradual && sparse && !both) return { prune: epochs, share: 0 };
  if (!both || epochs < 2) return { prune: 0, share: epochs };
  const share = Math.max(1, Math.floor(epochs / 4));
  return { prune: epochs - share, share };
}

/**
 * A pruning schedule's ramp in epochs: its `epochs`, at most the pruning
 * phase's (shorter than the fine-tuning when the trial also shares; the
 * prune stage refuses a ramp longer than its fine-tuning).
 */
export function rampEpochs(schedule: { epochs: number }, phaseEpochs: number): number {
  return Math.min(schedule.epochs, phaseEpochs);
}
