/**
 * When the `prune` stage raises sparsity during fine-tuning, and to what.
 *
 * Zhu & Gupta, "To prune, or not to prune" (2017), automated gradual pruning
 * (AGP): starting at step t0, the target sparsity rises from s_i to s_f over
 * n mask updates Δt steps apart,
 *
 *     s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n Δt))^3
 *
 * fast at first, while many redundant weights remain, and slowly near the
 * end, so the network recovers from the last cuts. (TF Model Optimization's
 * PolynomialDecay uses the same formula with power 3.) `constant` prunes to
 * s_f at t0 and holds it (TF-MOT's ConstantSparsity).
 *
 * Pure arithmetic, no tfjs: the numbers are unit-tested on their own.
 */

/** The `schedule:` option (the prune stage's; the auto stage's `pruneSchedule` has the same keys). */
export const pruneScheduleSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'magnitude/threshold: prune gradually during fine-tuning instead of once before it. Without it, pruning happens once and `finetune:` (if any) retrains with the masks held.',
  properties: {
    kind: { enum: ['constant', 'polynomial'], default: 'polynomial', description: '`polynomial`: Zhu & Gupta\'s AGP, s_t = s_f + (s_i - s_f)(1 - t/(n·Δt))^3; `constant`: the target from the first step.' },
    epochs: { type: 'integer', minimum: 1, default: 1, description: 'Fine-tuning epochs over which sparsity rises to the target (at most `finetune.epochs`; sets it when that is 0).' },
    frequency: { type: 'integer', minimum: 1, default: 100, description: 'Optimizer steps between mask updates (Δt); the last ramp step always updates.' },
    initialSparsity: { type: 'number', minimum: 0, maximum: 1, default: 0, description: '`polynomial`: sparsity at the first step (s_i).' },
  },
} as const;

export interface PruneSchedule {
  /** `polynomial`: AGP (power 3); `constant`: s_f from the first step. */
  kind: 'constant' | 'polynomial';
  /** Fine-tuning epochs over which sparsity rises to the target. */
  epochs: number;
  /** Optimizer steps between mask updates (Δt). */
  frequency: number;
  /** s_i: sparsity at the first step, for `polynomial`. */
  initialSparsity: number;
}

/**
 * AGP's s_t for step `t`: `span` = n·Δt is the number of steps the ramp
 * lasts. Before t0 it is s_i, from t0 + span on it is s_f.
 */
export function agpSparsity(initial: number, final: number, t: number, t0: number, span: number, power = 3): number {
  if (span <= 0) return final;
  const progress = Math.min(1, Math.max(0, (t - t0) / span));
  return final + (initial - final) * Math.pow(1 - progress, power);
}

/**
 * The target sparsity after `t` completed optimizer steps (t0 = 0) of a ramp
 * lasting `span` steps, for the schedule's kind.
 */
export function scheduledSparsity(schedule: Pick<PruneSchedule, 'kind' | 'initialSparsity'>, final: number, t: number, span: number): number {
  if (schedule.kind === 'constant') return final;
  // A start above the target would un-prune weights on the way down; AGP only rises.
  return agpSparsity(Math.min(schedule.initialSparsity, final), final, t, 0, span);
}

/**
 * Whether the masks are recomputed after `t` completed steps: every
 * `frequency` steps while the ramp lasts, and always at its last step, so
 * the final masks hold exactly the target whatever `frequency` is. (t = 0,
 * before the first step, is always an update: the caller prunes to s_i then.)
 */
export function isUpdateStep(t: number, frequency: number, span: number): boolean {
  if (t === 0) return true;
  if (t > span) return false;
  return t === span || t % frequency === 0;
}

/** The steps at which masks are recomputed, with their target sparsity (for reports and tests). */
export function scheduleUpdates(schedule: PruneSchedule, final: number, span: number): { step: number; sparsity: number }[] {
  const out: { step: number; sparsity: number }[] = [];
  for (let t = 0; t <= span; t++) {
    if (isUpdateStep(t, schedule.frequency, span)) out.push({ step: t, sparsity: scheduledSparsity(schedule, final, t, span) });
  }
  return out;
}
