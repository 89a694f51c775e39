/**
 * THE Pareto front of the project: select writes it into its metrics and the
 * HTML report draws it, so both must agree on which points are on it.
 */

/** One candidate as a point: smaller `value` (bytes, KB or ms) and higher `accuracy` are better. */
export interface ParetoPoint {
  node: string;
  accuracy: number;
  value: number;
}

/**
 * The non-dominated points of `points`. `q` dominates `p` when it is at least
 * as good in both (value <=, accuracy >=) and strictly better in one.
 *
 * Tie rule: equal points do not dominate each other, so exact duplicates are
 * all on the front (two candidates with the same size and accuracy are both a
 * fair choice; dropping one by input order would hide it). Order: by
 * increasing value, then decreasing accuracy, then node id, so the result
 * does not depend on the input order.
 */
export function paretoFront<P extends ParetoPoint>(points: readonly P[]): P[] {
  const front = points.filter(
    (p) => !points.some((q) => q.value <= p.value && q.accuracy >= p.accuracy && (q.value < p.value || q.accuracy > p.accuracy)),
  );
  return [...front].sort((a, b) => a.value - b.value || b.accuracy - a.accuracy || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}
