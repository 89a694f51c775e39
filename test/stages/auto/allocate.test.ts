/**
 * The allocator on constructed sensitivity tables whose optimum is known:
 * hand-made cases, and seeded random tables checked against brute force
 * (every combination enumerated), plus infeasible budgets.
 */
import { allocate } from '../../../src/stages/auto/allocate.js';
import type { AllocationLayer, AllocationProblem } from '../../../src/stages/auto/allocate.js';
import { seededRandom } from '../../../src/data/dataset.js';

/** Exhaustive search: the optimum loss (and whether any assignment fits). */
function bruteForce(p: AllocationProblem): number {
  let best = Infinity;
  const base = p.base ?? p.budgets.map(() => 0);
  const walk = (i: number, loss: number, costs: number[]) => {
    if (costs.some((c, r) => c > p.budgets[r]!)) return;
    if (i === p.layers.length) {
      best = Math.min(best, loss);
      return;
    }
    for (const o of p.layers[i]!.options) walk(i + 1, loss + o.loss, costs.map((c, r) => c + o.costs[r]!));
  };
  walk(0, 0, [...base]);
  return best;
}

const opt = (loss: number, ...costs: number[]) => ({ loss, costs });

describe('allocate', () => {
  test.each([
    {
      name: 'the budget forces the cheap option on the layer that minds least',
      layers: [
        { layer: 'fc1', options: [opt(0, 100), opt(0.1, 10)] },
        { layer: 'fc2', options: [opt(0, 100), opt(2, 10)] },
      ],
      budgets: [110],
      choice: [1, 0],
      loss: 0.1,
      costs: [110],
    },
    {
      name: 'a loose budget keeps every layer dense',
      layers: [
        { layer: 'fc1', options: [opt(0, 100), opt(0.1, 10)] },
        { layer: 'fc2', options: [opt(0, 100), opt(2, 10)] },
      ],
      budgets: [1000],
      choice: [0, 0],
      loss: 0,
      costs: [200],
    },
    {
      name: 'base cost counts against the budget',
      layers: [
        { layer: 'fc1', options: [opt(0, 100), opt(0.1, 10)] },
        { layer: 'fc2', options: [opt(0, 100), opt(2, 10)] },
      ],
      budgets: [160],
      base: [50],
      choice: [1, 0],
      loss: 0.1,
      costs: [160],
    },
    {
      name: 'two resources: size pushes one way, latency the other',
      layers: [
        // [bytes, ms]: sparsity saves bytes, structured saves ms
        { layer: 'a', options: [opt(0, 100, 10), opt(0.5, 20, 10), opt(0.7, 100, 4)] },
        { layer: 'b', options: [opt(0, 100, 10), opt(0.4, 20, 10), opt(0.9, 100, 4)] },
      ],
      budgets: [130, 15],
      choice: [2, 1],
      loss: 1.1,
      costs: [120, 14],
    },
    {
      name: 'an unconstrained resource (Infinity) is ignored',
      layers: [{ layer: 'a', options: [opt(0, 100, 99), opt(1, 10, 99)] }],
      budgets: [Infinity, Infinity],
      choice: [0],
      loss: 0,
      costs: [100, 99],
    },
  ])('$name', ({ layers, budgets, base, choice, loss, costs }) => {
    const a = allocate({ layers, budgets, base });
    expect(a).toEqual({ feasible: true, choice, loss: expect.closeTo(loss, 9), costs });
  });

  test('equal predicted losses: the allocation that uses most of the budget (the gentler settings)', () => {
    // Every option measured no drop (0 pp, as clamped): nothing is known to separate them, so the budget is used.
    const layers = [
      { layer: 'a', options: [{ loss: 0, costs: [10] }, { loss: 0, costs: [50] }, { loss: 0, costs: [120] }] },
      { layer: 'b', options: [{ loss: 0, costs: [5] }, { loss: 0, costs: [30] }] },
    ];
    expect(allocate({ layers, budgets: [100] })).toMatchObject({ feasible: true, choice: [1, 1], loss: 0, costs: [80] });
    // A smaller loss still wins over a fuller budget.
    expect(allocate({ layers: [{ layer: 'a', options: [{ loss: 0.1, costs: [90] }, { loss: 0, costs: [20] }] }], budgets: [100] })).toMatchObject({ feasible: true, choice: [1] });
  });

  test('infeasible: names the missed budgets and the smallest reachable costs', () => {
    const layers = [
      { layer: 'a', options: [opt(0, 100, 5), opt(1, 30, 5)] },
      { layer: 'b', options: [opt(0, 100, 5), opt(1, 40, 3)] },
    ];
    expect(allocate({ layers, budgets: [60, 100], base: [5, 0] })).toEqual({ feasible: false, minimumCosts: [75, 8], missed: [0] });
    expect(allocate({ layers, budgets: [60, 7] })).toEqual({ feasible: false, minimumCosts: [70, 8], missed: [0, 1] });
  });

  test('matches brute force on 200 seeded random tables (one and two budgets, integer costs)', () => {
    const random = seededRandom(17);
    const int = (n: number) => Math.floor(random() * n);
    let feasibleSeen = 0;
    let infeasibleSeen = 0;
    for (let t = 0; t < 200; t++) {
      const R = 1 + (t % 2);
      const layers: AllocationLayer[] = Array.from({ length: 2 + int(4) }, (_, i) => ({
        layer: `l${i}`,
        options: Array.from({ length: 1 + int(5) }, () => ({ loss: Math.round(random() * 1000) / 100, costs: Array.from({ length: R }, () => int(60)) })),
      }));
      const budgets = Array.from({ length: R }, () => 20 + int(150));
      const problem = { layers, budgets };
      const expected = bruteForce(problem);
      const a = allocate(problem);
      if (expected === Infinity) {
        infeasibleSeen++;
        expect(a.feasible).toBe(false);
        continue;
      }
      feasibleSeen++;
      if (!a.feasible) throw new Error(`table ${t}: allocate said infeasible, brute force found loss ${expected}`);
      expect(a.loss).toBeCloseTo(expected, 9);
      a.costs.forEach((c, r) => expect(c).toBeLessThanOrEqual(budgets[r]!));
      // The reported choice really has the reported loss and costs.
      expect(a.loss).toBeCloseTo(a.choice.reduce((s, j, i) => s + layers[i]!.options[j]!.loss, 0), 9);
    }
    // The generator must exercise both outcomes, or the test proves little.
    expect(feasibleSeen).toBeGreaterThan(50);
    expect(infeasibleSeen).toBeGreaterThan(5);
  });

  test('fractional costs on a coarse grid: never over budget', () => {
    const layers = [0, 1, 2].map((i) => ({ layer: `l${i}`, options: [opt(0, 10.37), opt(1, 3.11), opt(3, 1.05)] }));
    const a = allocate({ layers, budgets: [15], resolution: 8 });
    if (!a.feasible) throw new Error('expected feasible');
    expect(a.costs[0]).toBeLessThanOrEqual(15);
    expect(allocate({ layers, budgets: [15] })).toMatchObject({ feasible: true, loss: 3, choice: [1, 1, 1] });
  });

  test.each([
    [{ layers: [], budgets: [-1] }, 'Expected budgets[0] to be a number >= 0 or Infinity, got -1'],
    [{ layers: [{ layer: 'x', options: [] }], budgets: [1] }, 'Expected layer x to have at least one option, got none'],
    [{ layers: [{ layer: 'x', options: [opt(0, 1, 2)] }], budgets: [1] }, 'Expected x option 0 to have 1 costs (one per budget), got 2'],
    [{ layers: [], budgets: [1], resolution: 0.5 }, 'Expected resolution to be an integer >= 1, got 0.5'],
  ])('rejects a malformed problem: %#', (p, message) => {
    expect(() => allocate(p as AllocationProblem)).toThrow(message);
  });
});
