/**
 * The decision of the `select` stage, as plain functions over the evaluation
 * contract (src/contracts/evaluation.ts; no tfjs, no files): which candidates
 * pass the budgets of the named devices (re-judged with the contract's
 * `judgeDevice`), the best one by an objective with deterministic
 * tie-breaks, the closest one when none passes (`summarizeBudgets`), and the
 * Pareto fronts (the contract's `paretoFront`).
 */
import { judgeDevice, summarizeBudgets, withVerdict } from '../../contracts/budget.js';
import type { Budget, BudgetSummary, DeviceVerdict, Verdict } from '../../contracts/budget.js';
import { judgedCandidate, measured, quality } from '../../contracts/evaluation.js';
import type { EvaluatedCandidate, SizeKind } from '../../contracts/evaluation.js';
import { paretoFront } from '../../contracts/pareto.js';
import type { ParetoPoint } from '../../contracts/pareto.js';

export const OBJECTIVES = ['size', 'size_gzip', 'size_brotli', 'size_packed', 'latency_p50', 'latency_p95', 'accuracy', 'agreement'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** A device select judges for: its name and the budget evaluate recorded for it. */
export interface JudgedDevice {
  name: string;
  budget: Budget;
}

export interface RankedCandidate extends EvaluatedCandidate {
  /** Every named device passes (not-measured limits do not block; unstable ones do). */
  passes: boolean;
  /** Re-judged for the named devices. */
  devices: Record<string, DeviceVerdict>;
  /** The objective's value; null when it was not measured (latency): ranks last. */
  objectiveValue: number | null;
}

export interface Selection {
  chosen: RankedCandidate;
  /** All candidates, best first (passing ones before the others, then by objective and tie-breaks). */
  ranking: RankedCandidate[];
  budgets: BudgetSummary;
  pareto: {
    /** Size (of `sizeKind`) vs accuracy, over every candidate, by increasing size. */
    size: { sizeKind: SizeKind; front: ParetoPoint[] };
    /** Per device whose latency was measured for some candidate: p50 (p95 for objective latency_p95) vs accuracy. */
    latency: { percentile: 'p50' | 'p95'; devices: Record<string, ParetoPoint[]> } | null;
  };
}

const SIZE_OF: Partial<Record<Objective, SizeKind>> = { size: 'raw', size_gzip: 'gzip', size_brotli: 'brotli', size_packed: 'packed' };

export function sizeKindOf(objective: Objective): SizeKind | undefined {
  return SIZE_OF[objective];
}

/**
 * The objective's value of `c`: bytes for sizes, percent for accuracy, and for
 * latency the worst (largest) measured value over `devices`; null when no
 * named device measured it.
 */
export function objectiveValue(c: EvaluatedCandidate, objective: Objective, devices: readonly string[]): number | null {
  const kind = SIZE_OF[objective];
  if (kind) return c.sizeBytes[kind];
  // Without labels there is no accuracy: null ranks last, as an unmeasured latency does.
  if (objective === 'accuracy') return c.accuracy ?? null;
  if (objective === 'agreement') return c.agreement?.top1 ?? null;
  let worst: number | null = null;
  for (const d of devices) {
    const l = c.latency[d];
    if (!l || !l.measured) continue;
    const v = objective === 'latency_p50' ? l.p50Ms : l.p95Ms;
    worst = worst === null ? v : Math.max(worst, v);
  }
  return worst;
}

/** Objective order: a before b => negative. Lower is better except for accuracy; null (not measured) is last. */
function compareObjective(a: number | null, b: number | null, objective: Objective): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  return objective === 'accuracy' || objective === 'agreement' ? b - a : a - b;
}

/** The deterministic order: objective, then higher accuracy (without labels: agreement), then smaller raw size, then node id. */
export function compareCandidates(a: RankedCandidate, b: RankedCandidate, objective: Objective): number {
  return (
    compareObjective(a.objectiveValue, b.objectiveValue, objective) ||
    quality(b) - quality(a) ||
    a.sizeBytes.raw - b.sizeBytes.raw ||
    (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)
  );
}

/** Evaluate's recorded parity verdict, when there is one, judged with the budget verdicts. */
function withRecorded(d: DeviceVerdict, recorded: DeviceVerdict | undefined): DeviceVerdict {
  // Parity is not a budget, so it cannot be re-judged from numbers: it is carried as evaluate recorded it.
  const parity: Verdict | undefined = recorded?.verdicts.find((v) => v.limit === 'parity');
  return parity ? withVerdict(d, parity) : d;
}

/**
 * Picks among `candidates` (in evaluate's order) for the named `devices`.
 * Throws when `candidates` is empty.
 */
export function selectCandidate(candidates: readonly EvaluatedCandidate[], devices: readonly JudgedDevice[], objective: Objective): Selection {
  if (candidates.length === 0) throw new Error('selectCandidate: no candidates');
  const names = devices.map((d) => d.name);
  const ranked: RankedCandidate[] = candidates.map((c) => {
    const verdicts: Record<string, DeviceVerdict> = {};
    for (const d of devices) verdicts[d.name] = withRecorded(judgeDevice(d.budget, measured(c, d.name)), c.devices[d.name]);
    return { ...c, devices: verdicts, passes: Object.values(verdicts).every((v) => v.ok), objectiveValue: objectiveValue(c, objective, names) };
  });
  const summary = summarizeBudgets(ranked.map(judgedCandidate));
  const ranking = [...ranked].sort((a, b) => Number(b.passes) - Number(a.passes) || compareCandidates(a, b, objective));
  let chosen: RankedCandidate;
  if (summary.met) {
    chosen = ranking[0]!;
  } else {
    const closest = summary.closest!.candidate;
    chosen = ranked.find((r) => r.node === closest)!;
  }

  const sizeKind = SIZE_OF[objective] ?? 'packed';
  const percentile = objective === 'latency_p95' ? 'p95' : 'p50';
  const latencyFronts: Record<string, ParetoPoint[]> = {};
  for (const d of names) {
    const points: ParetoPoint[] = [];
    for (const c of ranked) {
      const l = c.latency[d];
      if (l && l.measured) points.push({ node: c.node, accuracy: quality(c), value: percentile === 'p95' ? l.p95Ms : l.p50Ms });
    }
    if (points.length > 0) latencyFronts[d] = paretoFront(points);
  }
  return {
    chosen,
    ranking,
    budgets: summary,
    pareto: {
      size: { sizeKind, front: paretoFront(ranked.map((c) => ({ node: c.node, accuracy: quality(c), value: c.sizeBytes[sizeKind] }))) },
      latency: Object.keys(latencyFronts).length > 0 ? { percentile, devices: latencyFronts } : null,
    },
  };
}
