/**
 * Allocations in order of loss: on seeded random tables, the first eight
 * yielded are brute force's eight best (same losses, in order), all
 * distinct and feasible, and the first is allocate's; every feasible
 * assignment comes out exactly once; nothing is yielded when nothing fits.
 */
import { allocate } from '../../../src/stages/auto/allocate.js';
import type { AllocationProblem } from '../../../src/stages/auto/allocate.js';
import { rankedAllocations } from '../../../src/stages/auto/ranked-allocations.js';
import { seededRandom } from '../../../src/data/dataset.js';

/** Every feasible assignment with its loss, smallest loss first. */
function feasibleAssignments(p: AllocationProblem): { choice: number[]; loss: number }[] {
  const out: { choice: number[]; loss: number }[] = [];
  const base = p.base ?? p.budgets.map(() => 0);
  const walk = (i: number, choice: number[], loss: number, costs: number[]) => {
    if (costs.some((c, r) => c > p.budgets[r]!)) return;
    if (i === p.layers.length) {
      out.push({ choice, loss });
      return;
    }
    p.layers[i]!.options.forEach((o, j) => walk(i + 1, [...choice, j], loss + o.loss, costs.map((c, r) => c + o.costs[r]!)));
  };
  walk(0, [], 0, [...base]);
  return out.sort((a, b) => a.loss - b.loss);
}

/** A random table with integer costs (so the DP's grid is exact), one or two budgets between the cheapest and the dearest assignment. */
function randomProblem(seed: number): AllocationProblem {
  const random = seededRandom(seed);
  const resources = seed % 2 === 0 ? 2 : 1;
  const layers = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, i) => ({
    layer: `l${i}`,
    options: Array.from({ length: 2 + Math.floor(random() * 3) }, () => ({ loss: Math.round(random() * 1000) / 100, costs: Array.from({ length: resources }, () => 1 + Math.floor(random() * 20)) })),
  }));
  const budgets = Array.from({ length: resources }, (_, r) => {
    const min = layers.reduce((n, l) => n + Math.min(...l.options.map((o) => o.costs[r]!)), 0);
    const max = layers.reduce((n, l) => n + Math.max(...l.options.map((o) => o.costs[r]!)), 0);
    return min + Math.floor(random() * (max - min + 1));
  });
  return { layers, budgets };
}

describe('rankedAllocations', () => {
  test.each(Array.from({ length: 40 }, (_, i) => i + 1))('random table %i: brute force\'s order, each feasible assignment once', (seed) => {
    const p = randomProblem(seed);
    const all = feasibleAssignments(p);
    const ranked = [...rankedAllocations(p)];
    // Ties may come in any order: compare losses, and the sets of assignments.
    expect(ranked.map((a) => a.loss)).toEqual(all.map((a) => expect.closeTo(a.loss, 9)));
    expect(new Set(ranked.map((a) => a.choice.join(',')))).toEqual(new Set(all.map((a) => a.choice.join(','))));
    const first = allocate(p);
    if (first.feasible) expect(ranked[0]!.choice).toEqual(first.choice);
    else expect(ranked).toEqual([]);
  });

  test('nothing fits: nothing is yielded', () => {
    const p: AllocationProblem = { layers: [{ layer: 'a', options: [{ loss: 0, costs: [10] }] }], budgets: [5] };
    expect([...rankedAllocations(p)]).toEqual([]);
  });

  test('only one assignment fits: it is the only one yielded', () => {
    const p: AllocationProblem = { layers: [{ layer: 'a', options: [{ loss: 0, costs: [10] }, { loss: 1, costs: [1] }] }, { layer: 'b', options: [{ loss: 0, costs: [10] }, { loss: 2, costs: [1] }] }], budgets: [2] };
    expect([...rankedAllocations(p)].map((a) => a.choice)).toEqual([[1, 1]]);
  });
});
