/**
 * NetAdapt's unit of measurement: the model with ONE layer narrowed (a
 * fraction of its units/filters removed, structured-setting.ts), written to
 * disk once per (layer, ratio). The latency table times these in a child
 * process on the device runtime, and the allocation prices the structured
 * choices by what they remove from the layer's own tensors
 * (assignment-size.ts), so both read the same models.
 *
 * Why one layer at a time: the latency of a layer depends on its input and
 * output widths and on the runtime's kernels, which no formula captures on
 * wasm (XNNPACK picks micro-kernels by shape); measuring the whole model
 * with one change keeps every real cost (memory traffic, the next layer's
 * narrower input) in the number, at the price of the additive assumption
 * when several layers change (validated per trial, see latency-table.ts).
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { StageContext } from '../../plugin.js';
import { settingLabel } from '../sensitivity/layer-setting.js';
import { tryRemoveUnits } from '../sensitivity/structured-setting.js';

export interface NarrowedModel {
  layer: string;
  /** Fraction of the layer's units removed. */
  ratio: number;
  /** Where the narrowed model is saved. */
  dir: string;
}

/**
 * Saves `model` narrowed at each requested (layer, ratio) under `dir`.
 * A pair the prune stage refuses (e.g. the output layer) is left out and
 * reported in `refused`.
 */
export async function narrowedModels(ctx: StageContext, model: LayersModel, pairs: readonly { layer: string; ratio: number }[], dir: string): Promise<{ models: NarrowedModel[]; refused: string[] }> {
  const models: NarrowedModel[] = [];
  const refused: string[] = [];
  for (const { layer, ratio } of pairs) {
    const narrowed = await tryRemoveUnits(ctx, model, layer, ratio);
    if (typeof narrowed === 'string') {
      refused.push(`${layer} ${settingLabel({ structured: ratio })}: ${narrowed}`);
      continue;
    }
    const out = join(dir, `${layer.replace(/[^\w.-]/g, '_')}-${ratio}`);
    await ctx.engine.saveModel(narrowed, out);
    narrowed.dispose();
    models.push({ layer, ratio, dir: out });
  }
  return { models, refused };
}
