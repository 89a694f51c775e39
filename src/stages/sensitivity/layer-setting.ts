/**
 * One layer's compression setting, and what applying it does to a kernel.
 * The sensitivity stage applies one setting to one layer; the auto stage and
 * the cost model apply a whole assignment. Both go through `applySetting`,
 * which calls the prune, share and quantize stages' own math (not a copy),
 * in Deep Compression's order: prune, then share the survivors, then store.
 */
import { pruneCount, smallestMasks } from '../prune/prune-magnitude.js';
import type { LayerVariable } from '@tensorflow/tfjs';
import { clusterWeights } from '../share/share-kmeans.js';
import { zerosOf } from '../share/share-finetune.js';
import type { Constraint } from '../share/share-finetune.js';
import { quantizeTensor } from '../../formats/weight-quantization.js';
import { isPrunableKernel } from '../prune/prune-targets.js';
import { DEFAULT_QUANTIZE_MIN_SIZE } from '../quantize/quantize.js';
import type { QuantizationDtype, QuantizedTensor } from '../../formats/weight-quantization.js';

/** Per-layer settings; a key left out means "not applied" (dense, float32, unshared). */
export interface LayerSetting {
  /** Fraction of the kernel's weights zeroed by magnitude (the prune stage's `sparsity`). */
  sparsity?: number;
  /** Bits per shared-weight index: the share stage's k-means with 2^bits clusters. */
  bits?: number;
  /** Weight storage (the quantize stage's `weights`). */
  dtype?: QuantizationDtype;
  /**
   * Fraction of the layer's units/filters removed (the prune stage's
   * `method: structured`). It changes the model's shapes, not a tensor's
   * values, so `applySetting` ignores it: structured-setting.ts applies it
   * to a whole model, before the other families. The one family that moves
   * latency on dense runtimes.
   */
  structured?: number;
}

/** The families a sweep or a search can vary, in the order they are applied. */
export const SETTING_FAMILIES = ['structured', 'sparsity', 'bits', 'dtype'] as const;
export type SettingFamily = (typeof SETTING_FAMILIES)[number];

/** The share stage's defaults for k-means (share.ts `iterations: 30`, `tolerance: 1e-6`, `init: linear`). */
export const SHARE_KMEANS = { init: 'linear', iterations: 30, tolerance: 1e-6 } as const;

export interface AppliedSetting {
  /** The values the model computes with (what tfjs decodes from the stored bytes). */
  values: Float32Array;
  /** Present when the setting stores the kernel quantized. */
  quantized?: QuantizedTensor;
  /** Present when the setting shares weights: per weight its cluster (-1 for a zero), for fine-tuning with the clusters held. */
  clustered?: { index: Int32Array; clusters: number };
}

/**
 * Applies `setting` to a kernel's values (not modified). `random` only feeds
 * k-means initialisations that draw (linear does not), so results are
 * deterministic for the default init.
 */
export function applySetting(values: Float32Array, setting: LayerSetting, random: () => number = Math.random): AppliedSetting {
  let out: Float32Array = Float32Array.from(values);
  if (setting.sparsity !== undefined && setting.sparsity > 0) {
    const [mask] = smallestMasks([out], pruneCount(setting.sparsity, out.length));
    for (let i = 0; i < out.length; i++) if (!mask![i]) out[i] = 0;
  }
  let clustered: AppliedSetting['clustered'];
  if (setting.bits !== undefined) {
    const c = clusterWeights(out, { clusters: 2 ** setting.bits, ...SHARE_KMEANS, random });
    out = c.values;
    clustered = { index: c.index, clusters: c.codebook.length };
  }
  if (setting.dtype !== undefined) {
    const quantized = quantizeTensor(out, setting.dtype);
    return { values: quantized.dequantized, quantized, ...(clustered ? { clustered } : {}) };
  }
  return { values: out, ...(clustered ? { clustered } : {}) };
}

/**
 * What fine-tuning must hold in `v` once `applied` (from `setting`) is
 * written to it: its clusters when shared, else the zeros a sparsity made;
 * nothing for a setting that only stores.
 */
export function heldBy(v: LayerVariable, applied: AppliedSetting, setting: LayerSetting): Constraint | undefined {
  if (applied.clustered) return { vars: [v], clustered: applied.clustered };
  if (setting.sparsity !== undefined) return { vars: [v], zeros: zerosOf(applied.values) };
  return undefined;
}

/** A short stable label, e.g. `s0.9+b5+uint8`, `u0.5` (half the units removed), `dense` for the empty setting (table rows, keys of memos). */
export function settingLabel(s: LayerSetting): string {
  const parts: string[] = [];
  if (s.structured !== undefined) parts.push(`u${s.structured}`);
  if (s.sparsity !== undefined) parts.push(`s${s.sparsity}`);
  if (s.bits !== undefined) parts.push(`b${s.bits}`);
  if (s.dtype !== undefined) parts.push(s.dtype);
  return parts.length > 0 ? parts.join('+') : 'dense';
}

/**
 * What a layer's setting does to one of its float tensors, as the stages
 * would do it from the recipe fragment: sparsity and bits act on kernels
 * only (prune and share leave biases alone); the dtype acts on every tensor
 * of the layer with at least DEFAULT_QUANTIZE_MIN_SIZE elements (the
 * quantize stage's `minSize`), kernels and biases alike.
 */
export function tensorSetting(name: string, size: number, setting: LayerSetting): LayerSetting {
  const kernel = isPrunableKernel(name);
  const dtype = setting.dtype !== undefined && size >= DEFAULT_QUANTIZE_MIN_SIZE ? setting.dtype : undefined;
  return {
    ...(kernel && setting.sparsity !== undefined ? { sparsity: setting.sparsity } : {}),
    ...(kernel && setting.bits !== undefined ? { bits: setting.bits } : {}),
    ...(dtype !== undefined ? { dtype } : {}),
  };
}
