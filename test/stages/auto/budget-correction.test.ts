/**
 * The search's repair of a size or latency miss: bytes tightened by the
 * measured error, latency in proportion to it.
 */
import { correctAfterMiss } from '../../../src/stages/auto/budget-correction.js';

describe('budget correction after a miss', () => {
  test('bytes by the measured error, cumulatively', () => {
    const once = correctAfterMiss([26_624, Infinity, Infinity], [0, 0, 0], [27_658, 0, 0], [26_500, 0, 0], [0]);
    expect(once).toEqual([1158, 0, 0]);
    expect(correctAfterMiss([26_624, Infinity, Infinity], once, [26_900, 0, 0], [26_000, 0, 0], [0])).toEqual([2058, 0, 0]);
  });

  test('latency in proportion: the LeNet-5 batch-32 miss (p95 9.596 ms for 5.500 predicted, budget 5.909 ms)', () => {
    const c = correctAfterMiss([Infinity, Infinity, 5.909], [0, 0, 0], [0, 0, 9.596], [0, 0, 5.5], [2]);
    // Effective budget 5.909 x 5.5 / 9.596 = 3.387 ms (the absolute error, 4.096 ms, would have left 1.813 ms, under the 3.020 ms floor).
    expect(5.909 - c[2]!).toBeCloseTo(3.3868, 4);
    expect(c.slice(0, 2)).toEqual([0, 0]);
    // A second miss shrinks the already corrected budget again.
    const d = correctAfterMiss([Infinity, Infinity, 5.909], c, [0, 0, 4], [0, 0, 3], [2]);
    expect(5.909 - d[2]!).toBeCloseTo((3.3868 * 3) / 4, 3);
  });

  test('only the missed resources move', () => {
    expect(correctAfterMiss([100, 2, 3], [5, 0.1, 0], [120, 2.5, 9], [110, 2, 8], [])).toEqual([5, 0.1, 0]);
  });
});
