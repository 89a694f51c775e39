/**
 * Learning-rate schedules over epochs, shared by every stage that trains
 * (train, and the fine-tuning in prune/share/quantize/distill).
 */
export interface Schedule {
  kind: 'constant' | 'step' | 'exponential' | 'cosine';
  /** `step`: decay every N epochs. */
  every?: number;
  /** `step` / `exponential`: multiplier per decay. */
  factor?: number;
  /** `cosine`: the rate reached at the last epoch. */
  minLearningRate?: number;
}

/** The learning rate for 0-based `epoch` of `epochs`. */
export function learningRateAt(s: Schedule, base: number, epoch: number, epochs: number): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * Math.pow(s.factor ?? 0.5, Math.floor(epoch / (s.every ?? 1)));
    case 'exponential':
      return base * Math.pow(s.factor ?? 0.5, epoch);
    case 'cosine': {
      const min = s.minLearningRate ?? 0;
      const t = epochs <= 1 ? 1 : epoch / (epochs - 1);
      return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}
