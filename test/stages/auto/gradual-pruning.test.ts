/**
 * A trial's gradual pruning on a real (small) model: the masks follow the
 * AGP schedule step by step (the count of zeros is the scheduled sparsity
 * of each kernel at every mask update), are re-imposed between updates
 * (weights written into pruned positions go back to 0), and every kernel
 * ends at exactly its allocated sparsity; layers without a sparsity are
 * left alone.
 */
import { gradualPruning } from '../../../src/stages/auto/gradual-pruning.js';
import { kernelVariables, pruneCount } from '../../../src/stages/prune/prune-magnitude.js';
import { isUpdateStep, scheduledSparsity } from '../../../src/stages/prune/prune-schedule.js';
import type { PruneSchedule } from '../../../src/stages/prune/prune-schedule.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

const zerosIn = (a: ArrayLike<number>) => Array.from(a).filter((x) => x === 0).length;

describe('gradual pruning of a trial', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [40] } } });
  });
  afterAll(() => h.cleanup());

  test('zeros follow the schedule at each update, masks hold in between, the end is the allocated sparsity', async () => {
    const tf = await h.engine.tf();
    const model = await h.engine.buildModel({ arch: 'mlp', units: [40], inputShape: [784] });
    const schedule: PruneSchedule = { kind: 'polynomial', epochs: 2, frequency: 3, initialSparsity: 0.1 };
    const settings = { dense1: { sparsity: 0.9 }, dense2: { bits: 4 } };
    // 4 phase epochs of 5 steps; the ramp is 2 epochs: 10 steps.
    const g = gradualPruning(tf, model, settings, schedule, 4, 5);
    try {
      expect(g.span).toBe(10);
      const [kernel] = kernelVariables(model, 'dense1');
      const size = (kernel!.shape as number[]).reduce((a, b) => a * b, 1);
      const zeros = () => zerosIn(kernel!.read().dataSync());
      expect(zeros()).toBe(pruneCount(0.1, size));
      // After each step (the first entry: before any).
      const seen: number[] = [zeros()];
      for (let step = 0; step < 20; step++) {
        // An optimizer step moves every weight, pruned ones included.
        kernel!.write(tf.add(kernel!.read(), 0.5));
        g.hooks.afterStep(step);
        const t = step + 1;
        const expected = isUpdateStep(t, schedule.frequency, g.span) ? pruneCount(scheduledSparsity(schedule, 0.9, t, g.span), size) : seen.at(-1)!;
        expect(zeros()).toBe(expected);
        seen.push(zeros());
      }
      // Rising, never falling, and at 90% from the end of the ramp on.
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      // Updated after steps 3, 6, 9 (every 3) and 10 (the ramp's end), kept in between.
      expect(new Set(seen).size).toBe(5);
      expect(seen[2]).toBe(seen[0]);
      expect(seen[3]).toBeGreaterThan(seen[0]!);
      expect(seen[9]).toBeLessThan(pruneCount(0.9, size));
      expect(seen[10]).toBe(pruneCount(0.9, size));
      expect(seen[20]).toBe(pruneCount(0.9, size));
      // dense2 has no sparsity: nothing masks it.
      expect(zerosIn(kernelVariables(model, 'dense2')[0]!.read().dataSync())).toBe(0);
    } finally {
      g.dispose();
    }
  });
});
