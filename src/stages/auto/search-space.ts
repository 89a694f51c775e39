/**
 * The per-layer choices the auto search allocates over, built from a
 * sensitivity table: every combination of one sparsity level (or none) and
 * one sharing bit width (or none), plus each storage dtype alone and each
 * structured ratio (fewer units) alone, with the
 * predicted loss the sum of the measured single-change drops (the additive
 * assumption HAWQ and Distiller-style allocators make; fine-tuning then
 * recovers part of it, which the trials measure).
 *
 * Within a family the drops are made non-decreasing in aggressiveness
 * (more sparsity, fewer bits, more units removed) by isotonic regression:
 * a point is one noisy measurement (after a recovery fine-tune, +-0.3 pp on
 * 2,000 examples), and taken as measured, 80% sparsity that happened to
 * read 0.4 pp below 50% would be chosen for luck, not for the layer.
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
  const monotone = new Map(ORDERED.map((family) => [family, monotoneDrops(s, layer, family)]));
  const drop = (family: SensitivityFamily, level: number | string) => Math.max(0, monotone.get(family)?.get(level) ?? s.points.find((p) => p.layer === layer && p.family === family && p.level === level)?.dropPp ?? 0);
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

/** Families whose levels are ordered by aggressiveness (dtypes are not). */
const ORDERED: readonly SensitivityFamily[] = ['sparsity', 'bits', 'structured'];

/**
 * The family's drops for `layer`, made non-decreasing from the gentlest
 * level to the most aggressive (pool adjacent violators: a violating run
 * takes its mean), by level.
 */
export function monotoneDrops(s: Sensitivity, layer: string, family: SensitivityFamily): Map<number | string, number> {
  // Fewer bits is more aggressive; more sparsity or more units removed is.
  const points = s.points.filter((p) => p.layer === layer && p.family === family).sort((a, b) => (family === 'bits' ? Number(b.level) - Number(a.level) : Number(a.level) - Number(b.level)));
  const blocks: { sum: number; n: number }[] = [];
  for (const p of points) {
    blocks.push({ sum: p.dropPp, n: 1 });
    while (blocks.length > 1 && blocks.at(-2)!.sum / blocks.at(-2)!.n > blocks.at(-1)!.sum / blocks.at(-1)!.n) {
      const last = blocks.pop()!;
      blocks.at(-1)!.sum += last.sum;
      blocks.at(-1)!.n += last.n;
    }
  }
  const out = new Map<number | string, number>();
  let i = 0;
  for (const b of blocks) for (let k = 0; k < b.n; k++) out.set(points[i++]!.level, b.sum / b.n);
  return out;
}
