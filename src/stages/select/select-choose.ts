/**
 * The decision of the `select` stage, as plain functions over the evaluate
 * stage's metrics (no tfjs, no files): which candidates pass the budgets of
 * the named devices (re-judged with evaluate's `judgeDevice`), the best one
 * by an objective with deterministic tie-breaks, the closest one when none
 * passes (evaluate's `summarizeBudgets`), and the Pareto fronts.
 */
import type { Json } from '../../plugin.js';
import { BUDGET_KEYS, judgeDevice, summarizeBudgets, withVerdict } from '../evaluate/evaluate-verdicts.js';
import type { Budget, BudgetKey, BudgetSummary, DeviceVerdict, Measured, Verdict } from '../evaluate/evaluate-verdicts.js';

export const OBJECTIVES = ['size', 'size_gzip', 'size_brotli', 'size_packed', 'latency_p50', 'latency_p95', 'accuracy'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export type SizeKind = 'raw' | 'gzip' | 'brotli' | 'packed';

/** One candidate as the evaluate stage measured it. */
export interface EvaluatedCandidate {
  node: string;
  accuracy: number;
  accuracyDropPp: number;
  sizeBytes: Record<SizeKind, number>;
  /** Per device: measured p50/p95 in ms, or the reason it was not measured. */
  latency: Record<string, { p50Ms: number; p95Ms: number } | { note: string }>;
  /**
   * Per browser device: evaluate's parity verdict (browser outputs vs Node's).
   * Not a budget, so it cannot be re-judged from numbers: it is carried as
   * evaluate recorded it, and a failed parity fails the device here too.
   */
  parity?: Record<string, Verdict>;
}

/** A device as evaluate judged it: its budget. */
export interface EvaluatedDevice {
  name: string;
  budget: Budget;
}

export interface RankedCandidate extends EvaluatedCandidate {
  /** Every named device passes (not-measured limits do not block). */
  passes: boolean;
  devices: Record<string, DeviceVerdict>;
  /** The objective's value; null when it was not measured (latency): ranks last. */
  objectiveValue: number | null;
}

export interface ParetoPoint {
  node: string;
  accuracy: number;
  /** Bytes (size front) or ms (latency front). */
  value: number;
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

function isRecord(v: Json | undefined): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberOr(v: Json | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

/** Reads evaluate's `metrics.devices` (name -> {budget}). */
export function devicesFromMetrics(metrics: Record<string, Json>): EvaluatedDevice[] {
  const devices = isRecord(metrics.devices) ? metrics.devices : {};
  return Object.entries(devices).map(([name, d]) => {
    const b = isRecord(d) && isRecord(d.budget) ? d.budget : {};
    const budget: Budget = {};
    for (const k of BUDGET_KEYS) {
      const v = b[k];
      if (typeof v === 'number') budget[k] = v;
    }
    return { name, budget };
  });
}

/**
 * Reads evaluate's `metrics.candidates` (node -> {accuracy, sizeBytes, latency, judged, ...}).
 * Only judged candidates (a named reference is the baseline, not a candidate), in evaluate's order.
 */
export function candidatesFromMetrics(metrics: Record<string, Json>): EvaluatedCandidate[] {
  const cands = isRecord(metrics.candidates) ? metrics.candidates : {};
  const out: EvaluatedCandidate[] = [];
  for (const [node, c] of Object.entries(cands)) {
    if (!isRecord(c) || c.judged === false) continue;
    const s = isRecord(c.sizeBytes) ? c.sizeBytes : {};
    const latency: EvaluatedCandidate['latency'] = {};
    if (isRecord(c.latency)) {
      for (const [device, l] of Object.entries(c.latency)) {
        if (isRecord(l) && l.measured === true && typeof l.p50Ms === 'number' && typeof l.p95Ms === 'number') {
          latency[device] = { p50Ms: l.p50Ms, p95Ms: l.p95Ms };
        } else {
          latency[device] = { note: isRecord(l) && typeof l.note === 'string' ? l.note : 'not measured' };
        }
      }
    }
    const parity: Record<string, Verdict> = {};
    if (isRecord(c.devices)) {
      for (const [device, d] of Object.entries(c.devices)) {
        const v = isRecord(d) && Array.isArray(d.verdicts) ? d.verdicts.find((x) => isRecord(x) && x.limit === 'parity') : undefined;
        if (v !== undefined) parity[device] = v as unknown as Verdict;
      }
    }
    out.push({
      node,
      ...(Object.keys(parity).length > 0 ? { parity } : {}),
      accuracy: numberOr(c.accuracy, Number.NaN),
      accuracyDropPp: numberOr(c.accuracyDropPp, 0),
      sizeBytes: { raw: numberOr(s.raw, Number.NaN), gzip: numberOr(s.gzip, Number.NaN), brotli: numberOr(s.brotli, Number.NaN), packed: numberOr(s.packed, Number.NaN) },
      latency,
    });
  }
  return out;
}

/** What evaluate measured for `c` on `device`, in the shape `judgeDevice` takes. */
export function measuredOf(c: EvaluatedCandidate, device: string): Measured {
  const l = c.latency[device];
  const values: Record<BudgetKey, number | null> = {
    size_kb: c.sizeBytes.raw / 1024,
    size_gzip_kb: c.sizeBytes.gzip / 1024,
    size_brotli_kb: c.sizeBytes.brotli / 1024,
    size_packed_kb: c.sizeBytes.packed / 1024,
    latency_ms_p50: l && 'p50Ms' in l ? l.p50Ms : null,
    latency_ms_p95: l && 'p95Ms' in l ? l.p95Ms : null,
    accuracy_min: c.accuracy,
    accuracy_drop_pp: c.accuracyDropPp,
  };
  const notes: Measured['notes'] = {};
  const note = l === undefined ? 'not measured' : 'note' in l ? l.note : undefined;
  if (note !== undefined) {
    notes.latency_ms_p50 = note;
    notes.latency_ms_p95 = note;
  }
  return { values, notes };
}

/**
 * The objective's value of `c`: bytes for sizes, percent for accuracy, and for
 * latency the worst (largest) measured value over `devices`; null when no
 * named device measured it.
 */
export function objectiveValue(c: EvaluatedCandidate, objective: Objective, devices: readonly string[]): number | null {
  const kind = SIZE_OF[objective];
  if (kind) return c.sizeBytes[kind];
  if (objective === 'accuracy') return c.accuracy;
  let worst: number | null = null;
  for (const d of devices) {
    const l = c.latency[d];
    if (!l || !('p50Ms' in l)) continue;
    const v = objective === 'latency_p50' ? l.p50Ms : l.p95Ms;
    worst = worst === null ? v : Math.max(worst, v);
  }
  return worst;
}

/** Objective order: a before b => negative. Lower is better except for accuracy; null (not measured) is last. */
function compareObjective(a: number | null, b: number | null, objective: Objective): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  return objective === 'accuracy' ? b - a : a - b;
}

/** The deterministic order: objective, then higher accuracy, then smaller raw size, then node id. */
export function compareCandidates(a: RankedCandidate, b: RankedCandidate, objective: Objective): number {
  return (
    compareObjective(a.objectiveValue, b.objectiveValue, objective) ||
    b.accuracy - a.accuracy ||
    a.sizeBytes.raw - b.sizeBytes.raw ||
    (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)
  );
}

/** Non-dominated points (smaller value and higher accuracy are better), by increasing value then decreasing accuracy. */
export function paretoFront(points: readonly ParetoPoint[]): ParetoPoint[] {
  const front = points.filter(
    (p) => !points.some((q) => q !== p && q.value <= p.value && q.accuracy >= p.accuracy && (q.value < p.value || q.accuracy > p.accuracy)),
  );
  return [...front].sort((a, b) => a.value - b.value || b.accuracy - a.accuracy || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}


/** Evaluate's recorded parity verdict, when there is one, judged with the budget verdicts. */
function withRecorded(d: DeviceVerdict, parity: Verdict | undefined): DeviceVerdict {
  return parity ? withVerdict(d, parity) : d;
}

/**
 * Picks among `candidates` (in evaluate's order) for the named `devices`.
 * Throws when `candidates` is empty.
 */
export function selectCandidate(candidates: readonly EvaluatedCandidate[], devices: readonly EvaluatedDevice[], objective: Objective): Selection {
  if (candidates.length === 0) throw new Error('selectCandidate: no candidates');
  const names = devices.map((d) => d.name);
  const ranked: RankedCandidate[] = candidates.map((c) => {
    const verdicts: Record<string, DeviceVerdict> = {};
    for (const d of devices) verdicts[d.name] = withRecorded(judgeDevice(d.budget, measuredOf(c, d.name)), c.parity?.[d.name]);
    return { ...c, devices: verdicts, passes: Object.values(verdicts).every((v) => v.ok), objectiveValue: objectiveValue(c, objective, names) };
  });
  const summary = summarizeBudgets(ranked.map((r) => ({ node: r.node, accuracy: r.accuracy, rawBytes: r.sizeBytes.raw, devices: r.devices })));
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
      if (l && 'p50Ms' in l) points.push({ node: c.node, accuracy: c.accuracy, value: percentile === 'p95' ? l.p95Ms : l.p50Ms });
    }
    if (points.length > 0) latencyFronts[d] = paretoFront(points);
  }
  return {
    chosen,
    ranking,
    budgets: summary,
    pareto: {
      size: { sizeKind, front: paretoFront(ranked.map((c) => ({ node: c.node, accuracy: c.accuracy, value: c.sizeBytes[sizeKind] }))) },
      latency: Object.keys(latencyFronts).length > 0 ? { percentile, devices: latencyFronts } : null,
    },
  };
}
