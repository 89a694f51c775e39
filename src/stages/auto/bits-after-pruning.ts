/**
 * Sharing bits chosen again once a trial's pruned survivors are retrained.
 *
 * The allocation prices bits on the original weights. Retraining after
 * pruning spreads the survivors out, so at the same bits their Huffman-coded
 * cluster indices take more bytes: +3-7% on every first LeNet-300-100
 * allocation at 26 KB, a first trial lost to the size check each search,
 * and at 8 KB no allocation left once the budget was corrected for it.
 *
 * Between the two phases of a trial the sparsity is fixed and the kernels
 * are final up to clustering, so the packed size of each bits option is
 * exact there for the model as it is then (the size model over the
 * retrained model's artifacts; linear k-means init is deterministic, the
 * clusters a trial then holds are these). Centroid fine-tuning still trains
 * the tensors nobody searched (biases, BatchNorm), whose records can move
 * the stored size a little: on the pre-trained uint8 MobileNetV2, 306,040
 * bytes at clustering, 306,316 stored; exact on LeNet-300-100 (no BN,
 * float32 biases packed raw).
 * So the bits are re-allocated at that point: the same knapsack, over the
 * layers the allocation gave bits, each keeping its sparsity and choosing
 * among the table's bits levels, priced exactly, under the real budget.
 * The losses are the sensitivity table's, as in the first allocation.
 */
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import { allocate } from './allocate.js';
import type { SizeModel } from './cost-model.js';
import type { LayerChoice } from './search-space.js';

export interface BitsAfterPruning {
  /** The allocation with each re-chosen layer's bits replaced. */
  settings: Record<string, LayerSetting>;
  /** Exact packed bytes of `settings` on the retrained model. */
  packed: number;
  /** Exact packed bytes the allocation itself would have had on the retrained model. */
  allocatedPacked: number;
  /** Whether any layer's bits differ from the allocation's. */
  changed: boolean;
  /** false when even the fewest bits miss `limit`: `settings` is then the smallest. */
  fits: boolean;
}

/** The layers whose bits `settings` changed from `allocated`, as `dense1 4 -> 6` (for logs and auto.md). */
export function bitsChanges(allocated: Readonly<Record<string, LayerSetting>>, settings: Readonly<Record<string, LayerSetting>>): string[] {
  return Object.keys(settings).filter((l) => settings[l]!.bits !== allocated[l]?.bits).map((l) => `${l} ${allocated[l]?.bits} -> ${settings[l]!.bits}`);
}

/**
 * Re-allocates the bits of every layer of `settings` that shares (and is
 * not narrowed or given a dtype), among `choices` with the same sparsity,
 * minimising the summed loss with `size` (over the retrained model) at most
 * `limit`. Ties go to the fuller model, as in the first allocation.
 */
export function chooseBitsAfterPruning(
  size: SizeModel,
  settings: Readonly<Record<string, LayerSetting>>,
  choices: ReadonlyMap<string, readonly LayerChoice[]>,
  limit: number,
): BitsAfterPruning {
  const shared = (s: LayerSetting | undefined): boolean => s?.bits !== undefined && s.structured === undefined && s.dtype === undefined;
  const layers = Object.keys(settings).filter((l) => shared(settings[l]));
  const allocatedPacked = size.predict(settings).packed;
  const options = layers.map((l) => (choices.get(l) ?? []).filter((c) => shared(c.setting) && c.setting.sparsity === settings[l]!.sparsity));
  if (layers.length === 0 || options.some((o) => o.length === 0)) {
    return { settings: { ...settings }, packed: allocatedPacked, allocatedPacked, changed: false, fits: allocatedPacked <= limit };
  }
  const cost = (l: string, s: LayerSetting): number => size.layerCost(l, s).packed;
  const fixed = allocatedPacked - layers.reduce((n, l) => n + cost(l, settings[l]!), 0);
  const solved = allocate({
    layers: layers.map((l, k) => ({ layer: l, options: options[k]!.map((c) => ({ loss: c.loss, costs: [cost(l, c.setting)] })) })),
    budgets: [limit],
    base: [fixed],
  });
  const picks = solved.feasible
    ? solved.choice.map((i, k) => options[k]![i]!.setting)
    : layers.map((l, k) => options[k]!.reduce((a, b) => (cost(l, b.setting) < cost(l, a.setting) ? b : a)).setting);
  const out: Record<string, LayerSetting> = { ...settings };
  layers.forEach((l, k) => (out[l] = picks[k]!));
  return {
    settings: out,
    packed: size.predict(out).packed,
    allocatedPacked,
    changed: layers.some((l, k) => picks[k]!.bits !== settings[l]!.bits),
    fits: solved.feasible,
  };
}
