/**
 * The per-layer choices the auto search allocates over, built from a
 * sensitivity table: every combination of one sparsity level (or none) and
 * one sharing bit width (or none), plus each storage dtype alone and each
 * structured ratio (fewer units) alone, with the
 * predicted loss the sum of the measured single-change drops (the additive
 * assumption HAWQ and Distiller-style allocators make; fine-tuning then
 * recovers part of it, which the trials measure).
 */
import type { Sensitivity, SensitivityFamily } from '../../contracts/sensitivity.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';

export interface LayerChoice {
  setting: LayerSetting;
  /** Predicted accuracy loss in pp (never below 0: a lucky single measurement is not a gain to bank on). */
  loss: number;
}

/** Choices per searched layer (the dense setting `{}` first, with loss 0). */
export function layerChoices(s: Sensitivity, layer: string, families: readonly SensitivityFamily[]): LayerChoice[] {
  const drop = (family: SensitivityFamily, level: number | string) => Math.max(0, s.points.find((p) => p.layer === layer && p.family === family && p.level === level)?.dropPp ?? 0);
  const levels = (family: SensitivityFamily) => (families.includes(family) ? s.points.filter((p) => p.layer === layer && p.family === family).map((p) => p.level) : []);
  const out: LayerChoice[] = [{ setting: {}, loss: 0 }];
  const sparsity: (number | undefined)[] = [undefined, ...(levels('sparsity') as number[])];
  const bits: (number | undefined)[] = [undefined, ...(levels('bits') as number[])];
  for (const sp of sparsity) {
    for (const b of bits) {
      if (sp === undefined && b === undefined) continue;
      const setting: LayerSetting = { ...(sp !== undefined ? { sparsity: sp } : {}), ...(b !== undefined ? { bits: b } : {}) };
      out.push({ setting, loss: (sp !== undefined ? drop('sparsity', sp) : 0) + (b !== undefined ? drop('bits', b) : 0) });
    }
  }
  for (const d of levels('dtype') as LayerSetting['dtype'][]) out.push({ setting: { dtype: d }, loss: drop('dtype', d!) });
  // Narrowing alone: it changes the layer's (and the next layer's) shapes,
  // which the size model prices per whole narrowed model; combining it with
  // the per-tensor families would price tensors of shapes it never measured.
  for (const r of levels('structured') as number[]) out.push({ setting: { structured: r }, loss: drop('structured', r) });
  return out;
}
