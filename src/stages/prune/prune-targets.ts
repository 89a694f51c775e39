/**
 * The prune stage's view of `layers:` / `exclude:`: which layers it targets,
 * with which settings, and which recipe key to point at when a setting
 * cannot apply. Selection itself is the shared `selectLayers`.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { StageConfigError } from '../../stage-definition.js';
import { compilePattern, selectLayers } from '../training/layer-targeting.js';
import { isCompressibleWeight } from '../training/compressible-weights.js';

/** What a `layers:` entry may set; unset keys fall back to the top-level option. */
export interface PruneLayerSettings {
  sparsity: number;
  quality: number;
}

export interface TargetingConfig {
  sparsity: number;
  quality: number;
  layers?: Record<string, Partial<PruneLayerSettings>>;
  exclude?: string[];
}

/**
 * Weight tensors magnitude pruning acts on: kernels, recurrent kernels and
 * embedding tables (the shared list in compressible-weights.ts); biases and
 * normalisation parameters are left dense.
 */
export function isPrunableKernel(originalName: string): boolean {
  return isCompressibleWeight(originalName);
}

/** Layer names in model order. */
export function layerNames(model: LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

/**
 * Resolves targeting: layer -> effective settings, in model order. Throws
 * StageConfigError for a pattern that matches nothing, and when nothing is
 * left to prune (`exclude` took every layer, or the model has none).
 */
export function selectTargets(eligible: string[], all: string[], config: TargetingConfig, what: string): Map<string, PruneLayerSettings> {
  const defaults: PruneLayerSettings = { sparsity: config.sparsity, quality: config.quality };
  const opts = { ...(config.layers ? { layers: config.layers } : {}), ...(config.exclude ? { exclude: config.exclude } : {}) };
  const selected = selectLayers(eligible, all, defaults, opts);
  if (selected.size === 0) {
    throw new StageConfigError(
      eligible.length === 0 ? `the model has no ${what}` : `no layer left to prune: \`exclude\` leaves none of the ${what}`,
      config.exclude && config.exclude.length > 0 ? ['exclude'] : [],
      [`eligible layers: ${eligible.join(', ') || '(none)'}`, `all layers: ${all.join(', ')}`],
    );
  }
  return selected;
}

/**
 * The recipe path (relative to `with:`) of the `layers:` entry that decided
 * `key` for `layer` (the last matching pattern that sets it), else of the
 * first pattern selecting the layer when `key` is omitted; undefined when no
 * pattern is involved.
 */
export function settingPath(layers: Record<string, Partial<PruneLayerSettings>> | undefined, layer: string, key?: keyof PruneLayerSettings): (string | number)[] | undefined {
  if (!layers) return undefined;
  let found: (string | number)[] | undefined;
  for (const [pattern, settings] of Object.entries(layers)) {
    if (!compilePattern(pattern)(layer)) continue;
    if (key === undefined) return ['layers', pattern];
    if (settings[key] !== undefined) found = ['layers', pattern, key];
  }
  return found;
}
