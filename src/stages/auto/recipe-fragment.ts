/**
 * The found per-layer settings as a plain recipe fragment: the prune, share
 * and quantize stages with `layers:` overrides, which a user commits and
 * runs without the search (the sizes are reproduced exactly: the same math,
 * test/stages/auto/auto.test.ts checks it).
 */
import { stringify } from 'yaml';
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import { RECALIBRATE_BATCHES } from '../training/finetune.js';
import type { FinetuneConfig } from '../training/finetune.js';
import type { PruneSchedule } from '../prune/prune-schedule.js';
import type { SourceStorageRule } from './cost-model.js';
import { rampEpochs, trialPhases } from './trial-phases.js';

export interface FragmentOptions {
  /** The trials' fine-tuning (the auto stage's `finetune:`, defaults filled); its epochs are split as the trial split them. */
  finetune: FinetuneConfig;
  /** The trials' `pruneSchedule`: the prune stage raises sparsity on it (its ramp cut to the phase, as the trial's was). */
  pruneSchedule?: PruneSchedule;
  /** How the source model stored its weights (cost-model.ts): the quantize stage stores them so again, as trials do. */
  sourceStorage?: SourceStorageRule;
}

/**
 * The `finetune:` a fragment stage gets: the trials' own settings with the
 * phase's epochs, so the committed recipe retrains as the trial did (the
 * stages' own defaults, e.g. a 1e-4 rate, would train a different model).
 * Settings at their inert values are left out to keep the fragment short.
 */
export function fragmentFinetune(ft: FinetuneConfig, epochs: number): Record<string, unknown> {
  if (epochs === 0) return {};
  const { data, batchSize, optimizer, learningRate, momentum, schedule, microBatchSize, workers, augment, recalibrateBatchNorm } = ft;
  return {
    finetune: {
      data,
      epochs,
      batchSize,
      optimizer,
      learningRate,
      ...(optimizer === 'momentum' ? { momentum } : {}),
      ...(schedule && schedule.kind !== 'constant' ? { schedule } : {}),
      ...(microBatchSize !== undefined ? { microBatchSize } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(augment ? { augment } : {}),
      ...(recalibrateBatchNorm !== undefined && recalibrateBatchNorm !== RECALIBRATE_BATCHES ? { recalibrateBatchNorm } : {}),
    },
  };
}

/** The `stages:` entries (plain objects) that apply `settings`; empty families are left out. */
export function fragmentStages(settings: Readonly<Record<string, LayerSetting>>, options: FragmentOptions): Record<string, unknown>[] {
  const pick = (key: keyof LayerSetting, as: string) => {
    const layers: Record<string, Record<string, unknown>> = {};
    for (const [layer, s] of Object.entries(settings)) if (s[key] !== undefined) layers[layer] = { [as]: s[key] };
    return layers;
  };
  const finetuneFor = (epochs: number) => fragmentFinetune(options.finetune, epochs);
  const finetune = finetuneFor(options.finetune.epochs);
  // Pruning and sharing split the epochs as the trial did (trial-phases.ts).
  const gradual = options.pruneSchedule;
  const phases = trialPhases(options.finetune.epochs, settings, gradual !== undefined);
  const stages: Record<string, unknown>[] = [];
  // Narrowing first: the other stages then see the shapes the trial had.
  const units = pick('structured', 'sparsity');
  if (Object.keys(units).length > 0) stages.push({ id: 'auto-prune-units', uses: 'prune', with: { method: 'structured', criterion: 'l1', layers: units, ...finetune } });
  const prune = pick('sparsity', 'sparsity');
  const schedule = gradual && phases.prune > 0 ? { schedule: { ...gradual, epochs: rampEpochs(gradual, phases.prune) } } : {};
  if (Object.keys(prune).length > 0) stages.push({ id: 'auto-prune', uses: 'prune', with: { method: 'magnitude', layers: prune, ...schedule, ...(phases.prune > 0 ? finetuneFor(phases.prune) : finetune) } });
  const share = pick('bits', 'bits');
  if (Object.keys(share).length > 0) stages.push({ id: 'auto-share', uses: 'share', with: { layers: share, ...(phases.prune > 0 ? finetuneFor(phases.share) : finetune) } });
  const quantize = pick('dtype', 'weights');
  // A model brought quantized (a uint8 tfjs-converter model) leaves the other stages float32: stored as it came,
  // as trials store it; a layer the search gave a dtype takes it (with the source's minSize).
  const source = options.sourceStorage;
  if (source) stages.push({ id: 'auto-quantize', uses: 'quantize', with: { weights: source.dtype, minSize: source.minSize, ...(Object.keys(quantize).length > 0 ? { layers: quantize } : {}) } });
  else if (Object.keys(quantize).length > 0) stages.push({ id: 'auto-quantize', uses: 'quantize', with: { layers: quantize } });
  return stages;
}

/**
 * The fragment as YAML, with a comment saying where it came from. The prune
 * and share stages share the trials' `schedule`/`augment` objects; written
 * out in full each time, not as YAML anchors and aliases (`&a1`, `*a1`),
 * so each stage reads and edits on its own.
 */
export function fragmentYaml(settings: Readonly<Record<string, LayerSetting>>, options: FragmentOptions, origin: string): string {
  return `# Per-layer settings found by the auto stage (${origin}).\n# Paste these under \`stages:\` in place of the auto stage.\n${stringify({ stages: fragmentStages(settings, options) }, { aliasDuplicateObjects: false })}`;
}
