/**
 * The `structured` family of a layer setting: remove a fraction of a layer's
 * units (Dense) or filters (Conv2D, SeparableConv2D), physically, with the
 * prune stage's own structured pruning (L1 filter norms, Li et al. 2017;
 * every tensor downstream cut to match). Unlike the other families it
 * changes shapes, so it acts on a whole model and returns a new one; the
 * sensitivity stage applies it to one layer at a time, the auto stage to an
 * assignment before the per-tensor families, and the latency table times
 * the results. The recipe fragment reproduces it with
 * `prune: { method: structured, criterion: l1, layers: {...} }`.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { StageContext } from '../../plugin.js';
import { StageConfigError } from '../../stage-definition.js';
import type { PruneConfig } from '../prune/prune.js';
import { pruneStructured } from '../prune/prune-structured.js';
import type { LayerSetting } from './layer-setting.js';

/** The structured ratios of an assignment (layers without one left out). */
export function structuredRatios(settings: Readonly<Record<string, LayerSetting>>): Record<string, number> {
  return Object.fromEntries(Object.entries(settings).flatMap(([l, s]) => (s.structured !== undefined && s.structured > 0 ? [[l, s.structured]] : [])));
}

/**
 * `model` with each layer of `ratios` narrowed by its fraction (not
 * modified; without a ratio the model itself is returned). Throws the prune
 * stage's StageConfigError when a layer cannot lose units (the output
 * layer, channels tied to a layer left out, ...).
 */
export async function removeUnits(ctx: StageContext, model: LayersModel, ratios: Readonly<Record<string, number>>): Promise<LayersModel> {
  if (Object.keys(ratios).length === 0) return model;
  const config: PruneConfig = {
    method: 'structured',
    sparsity: 0,
    scope: 'layer',
    quality: 1,
    criterion: 'l1',
    calibration: { data: 'train', samples: 1 },
    finetune: { data: 'train', epochs: 0 } as PruneConfig['finetune'],
    layers: Object.fromEntries(Object.entries(ratios).map(([l, r]) => [l, { sparsity: r }])),
  };
  // The prune stage's progress line ("n layers cut") is noise inside a sweep.
  const quiet: StageContext = { ...ctx, progress: () => {} };
  return (await pruneStructured(quiet, model, config)).model;
}

/**
 * `model` with `layer` alone narrowed by `ratio`, or why it cannot be (the
 * prune stage's message): sweeps skip such a layer instead of failing, since
 * "every layer with a kernel" includes the output layer.
 */
export async function tryRemoveUnits(ctx: StageContext, model: LayersModel, layer: string, ratio: number): Promise<LayersModel | string> {
  try {
    return await removeUnits(ctx, model, { [layer]: ratio });
  } catch (err) {
    if (err instanceof StageConfigError) return err.message;
    throw err;
  }
}
