/**
 * How a trial's fine-tuning epochs are split (Deep Compression's order):
 * when the trial both prunes and shares, the first half (rounded up)
 * retrains the pruned survivors and the rest fine-tunes the centroids of the
 * retrained survivors; otherwise every epoch goes to the one phase. The
 * trial (auto.ts) and the recipe fragment it writes (recipe-fragment.ts)
 * use the same split, so the fragment retrains as the trial did.
 */
import type { LayerSetting } from '../sensitivity/layer-setting.js';

export interface TrialPhases {
  /** Epochs after pruning, before sharing (0: one phase). */
  prune: number;
  /** Epochs after sharing (or after pruning alone, when nothing is shared). */
  share: number;
}

export function trialPhases(epochs: number, settings: Readonly<Record<string, LayerSetting>>): TrialPhases {
  const all = Object.values(settings);
  const both = all.some((s) => s.sparsity !== undefined) && all.some((s) => s.bits !== undefined);
  if (!both || epochs < 2) return { prune: 0, share: epochs };
  const prune = Math.ceil(epochs / 2);
  return { prune, share: epochs - prune };
}
