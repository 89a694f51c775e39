/**
 * Allocations in order of predicted loss, best first, for a search that
 * measures more than the predicted optimum (`explore`): the sensitivity
 * table adds single-layer losses, so at extreme ratios its order of two
 * close allocations can be wrong, and measuring the runners-up costs
 * trials, not a better table.
 *
 * Murty's partitioning (1968), over the exact solver of allocate.ts: after
 * the best solution s of a sub-problem is taken, the sub-problem's other
 * assignments are split into disjoint parts, part i keeping s's choices on
 * layers before i and forbidding s's choice on layer i. Each part is solved
 * exactly and queued; the best queued solution is the next in order. So
 * the k-th allocation yielded is the k-th best (on allocate's grid, whose
 * rounding only ever errs toward feasible), with no repeats.
 *
 * Pure and synchronous: one DP solve per layer per allocation yielded.
 */
import { allocate } from './allocate.js';
import type { AllocationProblem } from './allocate.js';

export interface RankedAllocation {
  /** Per layer (problem order): the index of the chosen option. */
  choice: number[];
  /** Summed loss of the chosen options. */
  loss: number;
  /** Total cost per resource, `base` included. */
  costs: number[];
}

/** Yields the feasible allocations of `problem`, smallest loss first; the first is allocate(problem)'s. */
export function* rankedAllocations(problem: AllocationProblem): Generator<RankedAllocation, void, undefined> {
  /** The best allocation using only the `allowed` option indices per layer. */
  const solve = (allowed: readonly (readonly number[])[]): RankedAllocation | undefined => {
    if (allowed.some((a) => a.length === 0)) return undefined;
    const a = allocate({ ...problem, layers: problem.layers.map((l, i) => ({ layer: l.layer, options: allowed[i]!.map((j) => l.options[j]!) })) });
    return a.feasible ? { choice: a.choice.map((c, i) => allowed[i]![c]!), loss: a.loss, costs: a.costs } : undefined;
  };
  const everything = problem.layers.map((l) => l.options.map((_, j) => j));
  const first = solve(everything);
  if (!first) return;
  const queue: { allowed: number[][]; best: RankedAllocation }[] = [{ allowed: everything, best: first }];
  while (queue.length > 0) {
    // A handful of parts per yield: a sort is simpler than a heap and as fast here.
    queue.sort((a, b) => a.best.loss - b.best.loss);
    const { allowed, best } = queue.shift()!;
    yield best;
    for (let i = 0; i < allowed.length; i++) {
      const part = allowed.map((a, k) => (k < i ? [best.choice[k]!] : k === i ? a.filter((j) => j !== best.choice[i]) : a));
      const solved = solve(part);
      if (solved) queue.push({ allowed: part, best: solved });
    }
  }
}
