/**
 * The exact packed size of a whole assignment, structured ratios included.
 *
 * cost-model.ts is exact and additive for the per-tensor families, but
 * narrowing a layer also narrows the next layer's input, so the packed size
 * of two changed neighbours is not the sum of their changes: priced as the
 * whole-model saving of each narrowed layer alone, a narrowed conv2 saved
 * dense1's removed rows at float32 while dense1 was also 98% sparse at 2
 * bits, and a random LeNet-5 trial was predicted at -743 KB. So:
 *
 * - the allocator prices a structured ratio by what it removes from the
 *   layer's OWN tensors (`ownSaving`), never from its neighbours: additive,
 *   never optimistic, so an allocation it calls feasible is feasible;
 * - a trial's prediction and the baselines' feasibility use `predict`,
 *   which narrows every layer of the assignment at once and prices the
 *   other layers' settings on that narrowed model with the size model:
 *   byte-exact (without fine-tuning), memoised per combination of ratios.
 */
import { join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import type { StageContext } from '../../plugin.js';
import { readModelArtifacts } from '../../engine/model-io.js';
import { splitWeights } from '../../formats/weight-quantization.js';
import type { QuantizationDtype } from '../../formats/weight-quantization.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import { removeUnits, structuredRatios } from '../sensitivity/structured-setting.js';
import { keepSourceStorage, packedRecordBytes, searchedKernels, sizeModel } from './cost-model.js';
import type { SizeModel } from './cost-model.js';

/** Packed record bytes of every tensor of `layer` (`<layer>/...`) in a model's artifacts. */
export function layerRecordBytes(artifacts: io.ModelArtifacts, layer: string): number {
  return splitWeights(artifacts)
    .filter((w) => w.spec.name.startsWith(`${layer}/`))
    .reduce((n, w) => n + packedRecordBytes(w), 0);
}

export class AssignmentSize {
  private readonly models = new Map<string, Promise<SizeModel>>();

  /**
   * `unmodified` is the size model of the original model, `searched` the
   * searched layers (their float tensors are the kernels the size model
   * prices); narrowed models are saved under `scratch`. `source`: the
   * tensors the original came quantized (cost-model.ts `sourceDtypes`); a
   * narrowed model is re-saved in float32 and stored like a trial.
   */
  constructor(
    private readonly ctx: StageContext,
    private readonly original: LayersModel,
    private readonly unmodified: SizeModel,
    private readonly searched: readonly string[],
    private readonly scratch: string,
    private readonly source: ReadonlyMap<string, QuantizationDtype>,
  ) {}

  /** Packed bytes of the model `settings` produces (before fine-tuning). */
  async predict(settings: Readonly<Record<string, LayerSetting>>): Promise<number> {
    const ratios = structuredRatios(settings);
    const perTensor = Object.fromEntries(Object.entries(settings).flatMap(([l, s]) => (s.structured === undefined ? [[l, s]] : [])));
    if (Object.keys(ratios).length === 0) return this.unmodified.predict(perTensor).packed;
    return (await this.narrowed(ratios)).predict(perTensor).packed;
  }

  private narrowed(ratios: Record<string, number>): Promise<SizeModel> {
    const key = JSON.stringify(Object.entries(ratios).sort(([a], [b]) => (a < b ? -1 : 1)));
    let m = this.models.get(key);
    if (!m) {
      m = (async () => {
        const dir = join(this.scratch, String(this.models.size));
        const model = await removeUnits(this.ctx, this.original, ratios);
        await this.ctx.engine.saveModel(model, dir);
        model.dispose();
        const artifacts = keepSourceStorage(await readModelArtifacts(dir), this.source);
        return sizeModel(artifacts, searchedKernels(artifacts, this.searched), this.source);
      })();
      this.models.set(key, m);
    }
    return m;
  }
}
