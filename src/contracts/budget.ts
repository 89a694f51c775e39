/**
 * Budget verdicts, part of the evaluation contract (evaluation.ts): per
 * candidate x device x limit, whether the measured value meets the limit and
 * by how much, and the summary over candidates (is any budget met, the best
 * candidate, the closest one when none is). evaluate judges with it and
 * select re-judges with it for the devices it names. Plain functions over
 * numbers, no tfjs.
 *
 * Unstable: a latency limit whose ~95% confidence interval (from
 * sample-stats.ts, order statistics of the timed runs) contains the limit
 * could fall either side of it on the next run. Its verdict is `unstable`
 * (`ok: false, unstable: true`), not ok or missed: it counts as not met (the
 * device does not pass, select does not pick it as passing, the run exits 3
 * like a miss), so a CI job does not flip green/red with the noise of the
 * machine, and the margin and the summary say it was the interval, not the
 * estimate, that failed, and how to fix it (measure longer).
 */
import { fmt, fmtHundredths } from './format.js';

/** The budget keys of a device (docs/recipes.md, schemas/recipe.schema.json `$defs.budget`). */
export const BUDGET_KEYS = [
  'size_kb',
  'size_gzip_kb',
  'size_brotli_kb',
  'size_packed_kb',
  'size_tflite_kb',
  'size_tflite_gzip_kb',
  'latency_ms_p50',
  'latency_ms_p95',
  'accuracy_min',
  'accuracy_drop_pp',
  'agreement_min',
] as const;

export type BudgetKey = (typeof BUDGET_KEYS)[number];
export type Budget = Partial<Record<BudgetKey, number>>;

/**
 * What a verdict judges: a budget limit, `parity` (browser devices: the
 * browser's outputs match Node's within a tolerance; evaluate-browser.ts), or
 * `runs` (the candidate can be put on the device's runtime at all: a
 * `runtime: tflite` device fails a model that cannot become a .tflite file,
 * whatever its other limits; see {@link cannotRun}).
 */
export type LimitKey = BudgetKey | 'parity' | 'runs';

export const UNITS: Record<BudgetKey, string> = {
  size_kb: 'KB',
  size_gzip_kb: 'KB',
  size_brotli_kb: 'KB',
  size_packed_kb: 'KB',
  size_tflite_kb: 'KB',
  size_tflite_gzip_kb: 'KB',
  latency_ms_p50: 'ms',
  latency_ms_p95: 'ms',
  accuracy_min: '%',
  accuracy_drop_pp: 'pp',
  agreement_min: '%',
};

/** Keys whose limit is a minimum (higher measured is better); the rest are maxima. */
const MINIMUM_KEYS: ReadonlySet<BudgetKey> = new Set(['accuracy_min', 'agreement_min']);

/** What was measured for one candidate on one device; null = not measured, with the reason in `notes`. */
export interface Measured {
  values: Record<BudgetKey, number | null>;
  /** Why a value is null, by key. */
  notes: Partial<Record<BudgetKey, string>>;
  /** ~95% confidence intervals of the measured values that have one (latency percentiles), by key. */
  intervals?: Partial<Record<BudgetKey, readonly [number, number]>>;
}

export interface Verdict {
  limit: LimitKey;
  /** The budget's value. */
  max?: number;
  min?: number;
  /** The measured value in `unit`; null when not measured. */
  measured: number | null;
  unit: string;
  /** true: within the limit (equal counts as within); false: missed or unstable; null: not measured. */
  ok: boolean | null;
  /** Present (true) when the measurement's confidence interval contains the limit: not met, but not a clear miss. */
  unstable?: true;
  /** With `unstable`: the ~95% confidence interval of the measured value, in `unit`. */
  interval?: [number, number];
  /** How far over (positive) or under (negative) the limit, in `unit`; null when not measured. */
  excess: number | null;
  /** `+3.2 KB over`, `0.4 ms under`, `1.5 pp short`, `0.2 pp to spare`, or why it was not measured. */
  margin: string;
}

export interface DeviceVerdict {
  /** Every measured limit is ok (not-measured limits neither pass nor fail). */
  ok: boolean;
  /** Limits that were missed (unstable ones included: they are not met either). */
  missed: LimitKey[];
  /** Present when some limit is unstable (its interval contains the limit): those limits. */
  unstable?: LimitKey[];
  /** Limits that could not be measured. */
  unmeasured: LimitKey[];
  verdicts: Verdict[];
}

/** Accuracy and agreement limits are judged and printed in hundredths (format.ts); the rest with 3 significant digits. */
export function amountOf(limit: BudgetKey, n: number): string {
  return limit === 'accuracy_min' || limit === 'accuracy_drop_pp' || limit === 'agreement_min' ? fmtHundredths(n) : fmt(n);
}

/** Whether `interval` leaves the side of `limit` undecided (a maximum: lo <= limit < hi; a minimum: lo < limit <= hi). */
export function straddles(interval: readonly [number, number], limit: number, isMinimum: boolean): boolean {
  const [lo, hi] = interval;
  return isMinimum ? lo < limit && limit <= hi : lo <= limit && limit < hi;
}

/**
 * The verdict of one limit. `interval`: the measured value's ~95% confidence
 * interval, when it has one; a limit inside it is `unstable`.
 */
export function verdictFor(limit: BudgetKey, value: number, measured: number | null, note?: string, interval?: readonly [number, number]): Verdict {
  const unit = UNITS[limit];
  const bound = MINIMUM_KEYS.has(limit) ? { min: value } : { max: value };
  if (measured === null) {
    return { limit, ...bound, measured: null, unit, ok: null, excess: null, margin: note ?? 'not measured' };
  }
  const isMin = MINIMUM_KEYS.has(limit);
  const excess = isMin ? value - measured : measured - value;
  const ok = excess <= 0;
  const u = unit === '%' ? 'pp' : unit;
  if (interval !== undefined && straddles(interval, value, isMin)) {
    const [lo, hi] = interval;
    return {
      limit, ...bound, measured, unit, ok: false, unstable: true, interval: [lo, hi], excess,
      margin: `unstable: 95% interval ${amountOf(limit, lo)}-${amountOf(limit, hi)} ${u} contains the limit ${amountOf(limit, value)} ${u}`,
    };
  }
  const amount = `${amountOf(limit, Math.abs(excess))} ${u}`;
  let margin: string;
  if (isMin) margin = ok ? `${amount} to spare` : `${amount} short`;
  else margin = ok ? `${amount} under` : `+${amount} over`;
  return { limit, ...bound, measured, unit, ok, excess, margin };
}

/** Verdicts of every limit in `budget`, in BUDGET_KEYS order. */
export function judgeDevice(budget: Budget, measured: Measured): DeviceVerdict {
  const verdicts: Verdict[] = [];
  for (const key of BUDGET_KEYS) {
    const value = budget[key];
    if (value === undefined) continue;
    verdicts.push(verdictFor(key, value, measured.values[key], measured.notes[key], measured.intervals?.[key]));
  }
  return deviceVerdict(verdicts);
}

/** A device's verdict from its limits' verdicts: ok unless one missed; not-measured ones neither pass nor fail. */
export function deviceVerdict(verdicts: Verdict[]): DeviceVerdict {
  const unstable = verdicts.filter((v) => v.unstable === true).map((v) => v.limit);
  return {
    ok: verdicts.every((v) => v.ok !== false),
    missed: verdicts.filter((v) => v.ok === false).map((v) => v.limit),
    // Only when there is one: report.json of runs without an unstable limit keeps its bytes.
    ...(unstable.length > 0 ? { unstable } : {}),
    unmeasured: verdicts.filter((v) => v.ok === null).map((v) => v.limit),
    verdicts,
  };
}

/**
 * The `runs` verdict of a candidate that cannot be put on a device's runtime
 * (`reason`: why, e.g. the .tflite exporter's refusal). It fails the device:
 * its size and latency limits on that runtime are "not measured", and
 * not-measured limits neither pass nor fail, so without it a model the
 * phone cannot load would pass the phone's budget.
 */
export function cannotRun(reason: string): Verdict {
  return { limit: 'runs', measured: null, unit: '', ok: false, excess: null, margin: `cannot run: ${reason}` };
}

/** `d` with one more verdict (e.g. browser parity, which is not a budget limit). */
export function withVerdict(d: DeviceVerdict, v: Verdict): DeviceVerdict {
  return deviceVerdict([...d.verdicts, v]);
}

export interface JudgedCandidate {
  node: string;
  /** Top-1 accuracy in percent; absent without labels. */
  accuracy?: number;
  /** Top-1 agreement with the reference in percent: what ranks candidates when there is no accuracy. */
  agreement?: number;
  rawBytes: number;
  devices: Record<string, DeviceVerdict>;
}

export interface Miss {
  device: string;
  limit: LimitKey;
  /** null for `runs`: nothing could be measured. */
  measured: number | null;
  /** The budget's value; null for `runs`. */
  budget: number | null;
  unit: string;
  margin: string;
  /** Not a clear miss: the measurement's confidence interval contains the limit. */
  unstable?: true;
}

export interface BudgetSummary {
  /** Some judged candidate meets every measured limit of every evaluated device. */
  met: boolean;
  /** The candidate meeting every budget with the best top-1 accuracy (without labels: agreement; then smaller raw size, then order); null when none does. */
  best: string | null;
  /** Candidates meeting every budget, in input order. */
  passing: string[];
  /** When none meets the budgets: the candidate with the fewest misses (then the smallest relative excess), and what it missed. */
  closest: { candidate: string; missed: Miss[] } | null;
  /** `device limit` pairs not measured for some judged candidate (neither ok nor missed). */
  unmeasured: string[];
  /** One line for a summary. */
  message: string;
}

function misses(c: JudgedCandidate): Miss[] {
  const out: Miss[] = [];
  for (const [device, d] of Object.entries(c.devices)) {
    for (const v of d.verdicts) {
      if (v.ok !== false) continue;
      out.push({ device, limit: v.limit, measured: v.measured, budget: v.max ?? v.min ?? null, unit: v.unit, margin: v.margin, ...(v.unstable ? { unstable: true as const } : {}) });
    }
  }
  return out;
}

function missText(m: Miss): string {
  // Parity's margin is its whole story; a miss without a measured value (`runs`) has only its margin.
  if (m.limit === 'parity' || m.measured === null || m.budget === null) return `${m.device} ${m.limit} (${m.margin})`;
  const key = m.limit as BudgetKey;
  const u = m.unit === '%' ? '%' : ` ${m.unit}`;
  return `${m.device} ${m.limit} (${amountOf(key, m.measured)}${u} vs ${amountOf(key, m.budget)}${u}: ${m.margin})`;
}

/** What ranks candidates: accuracy with labels, top-1 agreement without (0 when neither was measured). */
function score(c: JudgedCandidate): number {
  return c.accuracy ?? c.agreement ?? 0;
}

function scoreText(c: JudgedCandidate): string {
  if (c.accuracy !== undefined) return `accuracy ${fmtHundredths(c.accuracy)}%`;
  return c.agreement !== undefined ? `agreement ${fmtHundredths(c.agreement)}%` : 'no accuracy or agreement';
}

function relativeExcess(c: JudgedCandidate): number {
  let sum = 0;
  for (const d of Object.values(c.devices)) {
    // A limit missed without a measured excess (`runs`) counts as a whole limit over.
    for (const v of d.verdicts) if (v.ok === false) sum += v.excess === null ? 1 : v.excess / ((v.max ?? v.min) || 1);
  }
  return sum;
}

/** The summary over `candidates` (in input order, which breaks the last ties). */
export function summarizeBudgets(candidates: readonly JudgedCandidate[]): BudgetSummary {
  const unmeasured = new Set<string>();
  for (const c of candidates) for (const [device, d] of Object.entries(c.devices)) for (const k of d.unmeasured) unmeasured.add(`${device} ${k}`);
  const passing = candidates.filter((c) => Object.values(c.devices).every((d) => d.ok));
  if (passing.length > 0) {
    const best = [...passing].sort((a, b) => score(b) - score(a) || a.rawBytes - b.rawBytes)[0]!;
    return {
      met: true,
      best: best.node,
      passing: passing.map((c) => c.node),
      closest: null,
      unmeasured: [...unmeasured],
      message: `${passing.length} of ${candidates.length} candidate(s) meet every budget; best: ${best.node} (${scoreText(best)})`,
    };
  }
  if (candidates.length === 0) {
    return { met: true, best: null, passing: [], closest: null, unmeasured: [], message: 'no candidates' };
  }
  const ranked = candidates
    .map((c, i) => ({ c, i, n: misses(c).length, r: relativeExcess(c) }))
    .sort((a, b) => a.n - b.n || a.r - b.r || score(b.c) - score(a.c) || a.i - b.i);
  const closest = ranked[0]!.c;
  const missed = misses(closest);
  const unstableOnly = missed.length > 0 && missed.every((m) => m.unstable);
  return {
    met: false,
    best: null,
    passing: [],
    closest: { candidate: closest.node, missed },
    unmeasured: [...unmeasured],
    message:
      `no candidate meets every budget; closest: ${closest.node}, missed ` +
      missed.map((m) => missText(m)).join(', ') +
      (missed.some((m) => m.unstable)
        ? `${unstableOnly ? '; only unstable limits: the measurement cannot tell' : '; unstable limits cannot be told'} whether the limit is met; measure longer (evaluate \`latency.maxSeconds\`, \`latency.maxRuns\`) or on a quieter machine`
        : ''),
  };
}
