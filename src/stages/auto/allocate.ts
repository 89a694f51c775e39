/**
 * Per-layer allocation as a multiple-choice knapsack: pick exactly one option
 * per layer so that the summed predicted loss is smallest while every
 * resource (packed bytes, latency ms, ...) stays within its budget.
 *
 * Solved exactly by dynamic programming over discretised resource usage
 * (HAWQ-V3 states the same problem as an integer program). Costs are rounded
 * UP to the grid, so an allocation the DP calls feasible is feasible for the
 * real costs too; when the costs are integers and a budget is at most
 * `resolution`, the grid is one unit and the answer is the exact optimum.
 * Pure and synchronous: milliseconds for tens of layers and options.
 */

/** One choice for one layer. */
export interface AllocationOption {
  /** Predicted loss of taking this option (e.g. accuracy drop in pp; >= 0 is usual, any finite number works). */
  loss: number;
  /** Cost per resource, in the order of `AllocationProblem.budgets` (e.g. [packed bytes, latency ms]). */
  costs: readonly number[];
}

export interface AllocationLayer {
  layer: string;
  options: readonly AllocationOption[];
}

export interface AllocationProblem {
  layers: readonly AllocationLayer[];
  /** Budget per resource; `Infinity` leaves that resource unconstrained. */
  budgets: readonly number[];
  /** Cost per resource of what is not searched (topology, biases, kept layers). Default: zeros. */
  base?: readonly number[];
  /**
   * Grid steps per constrained resource. Default: 4096 with one constrained
   * resource, 512 with two, 64 with more (the DP visits the product of them).
   */
  resolution?: number;
}

export type Allocation =
  | {
      feasible: true;
      /** Per layer (problem order): the index of the chosen option. */
      choice: number[];
      /** Summed loss of the chosen options. */
      loss: number;
      /** Total cost per resource, `base` included. */
      costs: number[];
    }
  | {
      feasible: false;
      /** The smallest achievable total cost per resource (each minimised on its own, `base` included). */
      minimumCosts: number[];
      /** Indices of the budgets that even the cheapest option everywhere cannot meet. */
      missed: number[];
    };

/** Validates a problem; throws a TypeError "Expected X, got Y" (a bug in the caller, not a user error). */
function check(p: AllocationProblem): void {
  const r = p.budgets.length;
  if (p.base && p.base.length !== r) throw new TypeError(`Expected base to have ${r} entries (one per budget), got ${p.base.length}`);
  p.budgets.forEach((b, i) => {
    if (!(b >= 0)) throw new TypeError(`Expected budgets[${i}] to be a number >= 0 or Infinity, got ${String(b)}`);
  });
  if (p.resolution !== undefined && !(Number.isInteger(p.resolution) && p.resolution >= 1)) {
    throw new TypeError(`Expected resolution to be an integer >= 1, got ${String(p.resolution)}`);
  }
  for (const l of p.layers) {
    if (l.options.length === 0) throw new TypeError(`Expected layer ${l.layer} to have at least one option, got none`);
    l.options.forEach((o, j) => {
      if (!Number.isFinite(o.loss)) throw new TypeError(`Expected ${l.layer} option ${j} loss to be finite, got ${String(o.loss)}`);
      if (o.costs.length !== r) throw new TypeError(`Expected ${l.layer} option ${j} to have ${r} costs (one per budget), got ${o.costs.length}`);
      o.costs.forEach((c, k) => {
        if (!(c >= 0) || !Number.isFinite(c)) throw new TypeError(`Expected ${l.layer} option ${j} cost ${k} to be a finite number >= 0, got ${String(c)}`);
      });
    });
  }
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Solves the allocation exactly on the grid (see the file comment). */
export function allocate(p: AllocationProblem): Allocation {
  check(p);
  const R = p.budgets.length;
  const base = p.base ?? new Array<number>(R).fill(0);
  const minimumCosts = base.map((b, r) => b + sum(p.layers.map((l) => Math.min(...l.options.map((o) => o.costs[r]!)))));
  const missed = minimumCosts.flatMap((c, r) => (c > p.budgets[r]! ? [r] : []));
  if (missed.length > 0) return { feasible: false, minimumCosts, missed };

  // Constrained resources get a grid; the others are ignored by the DP.
  const constrained = p.budgets.flatMap((b, r) => (Number.isFinite(b) ? [r] : []));
  const steps = p.resolution ?? (constrained.length <= 1 ? 4096 : constrained.length === 2 ? 512 : 64);
  const dims = constrained.map((r) => {
    const room = p.budgets[r]! - base[r]!;
    const integral = p.layers.every((l) => l.options.every((o) => Number.isInteger(o.costs[r]!))) && Number.isInteger(room);
    const cells = integral ? Math.min(steps, room) : steps;
    const unit = cells > 0 ? room / cells : 1;
    return { r, cells, unit };
  });
  const strides: number[] = [];
  let states = 1;
  for (const d of dims) {
    strides.push(states);
    states *= d.cells + 1;
  }
  /** A state's grid coordinates (units used per constrained resource), into `out`. */
  const decode = (s: number, out: Int32Array) => {
    let rest = s;
    for (let k = dims.length - 1; k >= 0; k--) {
      out[k] = Math.floor(rest / strides[k]!);
      rest -= out[k]! * strides[k]!;
    }
  };
  // Units an option takes on each grid axis (rounded up, with a hair of
  // slack so 0.1 + 0.2 style float error does not cost a whole cell).
  const unitsOf = (o: AllocationOption) => dims.map((d) => (d.cells === 0 ? (o.costs[d.r]! > 0 ? Infinity : 0) : Math.max(0, Math.ceil(o.costs[d.r]! / d.unit - 1e-9))));

  let dp = new Float64Array(states).fill(Infinity);
  dp[0] = 0;
  const picks: Int32Array[] = [];
  const coord = new Int32Array(dims.length);
  for (const layer of p.layers) {
    const next = new Float64Array(states).fill(Infinity);
    const pick = new Int32Array(states).fill(-1);
    const units = layer.options.map(unitsOf);
    for (let s = 0; s < states; s++) {
      const v = dp[s]!;
      if (v === Infinity) continue;
      decode(s, coord);
      for (let j = 0; j < layer.options.length; j++) {
        const u = units[j]!;
        let t = 0;
        let fits = true;
        for (let k = 0; k < dims.length; k++) {
          const c = coord[k]! + u[k]!;
          if (c > dims[k]!.cells) {
            fits = false;
            break;
          }
          t += c * strides[k]!;
        }
        if (!fits) continue;
        const w = v + layer.options[j]!.loss;
        if (w < next[t]!) {
          next[t] = w;
          pick[t] = j;
        }
      }
    }
    picks.push(pick);
    dp = next;
  }
  // Smallest loss; among equal losses the one that uses most of the budgets
  // (the largest summed fraction of each grid). Predicted losses are
  // estimates, clamped at 0 for every option that measured no drop, so a tie
  // is "no known difference": the gentler settings are the safer bet, and a
  // budget left unused buys nothing. (Towards the smaller model, LeNet-300-100
  // at 26 KB got a 13.8 KB allocation of options that all read 0 pp.)
  const fill = (s: number) => {
    decode(s, coord);
    return dims.reduce((f, d, k) => f + (d.cells > 0 ? coord[k]! / d.cells : 0), 0);
  };
  let best = -1;
  for (let s = 0; s < states; s++) {
    if (dp[s] === Infinity) continue;
    if (best < 0 || dp[s]! < dp[best]! - 1e-12 || (dp[s]! <= dp[best]! + 1e-12 && fill(s) > fill(best))) best = s;
  }
  if (best < 0) {
    // Every layer alone fits but the rounding up to the grid made the sum not fit.
    return { feasible: false, minimumCosts, missed: constrained };
  }
  const choice = new Array<number>(p.layers.length);
  let s = best;
  for (let i = p.layers.length - 1; i >= 0; i--) {
    const j = picks[i]![s]!;
    choice[i] = j;
    const u = unitsOf(p.layers[i]!.options[j]!);
    for (let k = 0; k < dims.length; k++) s -= u[k]! * strides[k]!;
  }
  const costs = base.map((b, r) => b + sum(p.layers.map((l, i) => l.options[choice[i]!]!.costs[r]!)));
  return { feasible: true, choice, loss: sum(p.layers.map((l, i) => l.options[choice[i]!]!.loss)), costs };
}
