/**
 * How the search tightens its budgets after a trial that missed one by
 * more than predicted (auto.ts's repair of a size or latency miss). Per
 * resource (packed bytes, p50 ms, p95 ms) a correction is subtracted from
 * the budget before allocating again:
 *
 * - bytes: the measured error as it is (the packer's error is a number of
 *   bytes: retrained survivors' cluster codes);
 * - latency: in proportion, the effective budget times predicted/measured
 *   (the machine's load slows every layer alike, so the error scales with
 *   the model; subtracting a 12 ms model's absolute error from a 5.9 ms
 *   budget left it below the fastest reachable model).
 */

/** Resource indices: 0 = packed bytes (absolute), 1 = p50 ms, 2 = p95 ms (proportional). */
export function correctAfterMiss(budgets: readonly number[], correction: readonly number[], measured: readonly number[], predicted: readonly number[], over: readonly number[]): number[] {
  const out = [...correction];
  for (const r of over) {
    const effective = budgets[r]! - out[r]!;
    out[r] = r === 0 ? out[r]! + measured[r]! - predicted[r]! : budgets[r]! - (effective * predicted[r]!) / measured[r]!;
  }
  return out;
}
