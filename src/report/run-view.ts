/**
 * What the report renderers show of a run record. Evaluate nodes are read
 * through the evaluation contract (src/contracts/evaluation.ts): decoded,
 * never parsed by hand; a node whose metrics do not decode is shown with the
 * decoder's error instead of its tables. Other nodes' metrics are free-form
 * JSON, read defensively for the stage table (missing values become null).
 */
import type { Json } from '../plugin.js';
import type { RunRecord, RunRecordNode } from '../run/run-record.js';
import { decodeEvaluation, looksLikeEvaluation, SIZE_KINDS, sizesKb } from '../contracts/evaluation.js';
import type { EvaluatedCandidate, Evaluation, LayerStats, SizeKind } from '../contracts/evaluation.js';
import { fmt as fmtNumber } from '../contracts/format.js';

export { SIZE_KINDS };
export type { SizeKind };

export type JsonObject = { [key: string]: Json };

export function asObject(j: Json | undefined): JsonObject | null {
  return j !== null && j !== undefined && typeof j === 'object' && !Array.isArray(j) ? j : null;
}
export function asNumber(j: Json | undefined): number | null {
  return typeof j === 'number' && Number.isFinite(j) ? j : null;
}
export function asString(j: Json | undefined): string | null {
  return typeof j === 'string' ? j : null;
}
export function asBoolean(j: Json | undefined): boolean | null {
  return typeof j === 'boolean' ? j : null;
}

export interface VerdictView {
  limit: string;
  /** `<=` for a maximum, `>=` for a minimum. */
  bound: '<=' | '>=';
  limitValue: number | null;
  measured: number | null;
  unit: string;
  /** true ok, false missed (or unstable), null not measured. */
  ok: boolean | null;
  /** The measurement's confidence interval contains the limit. */
  unstable: boolean;
  margin: string;
}

export type LayerView = LayerStats;

export interface CandidateView {
  id: string;
  stage: string | null;
  reference: boolean;
  judged: boolean;
  accuracy: number | null;
  accuracyDropPp: number | null;
  /** Top-1 agreement with the reference, percent; null when not measured. */
  agreement: number | null;
  sizeKb: Record<SizeKind, number | null>;
  params: number | null;
  nonZeros: number | null;
  sparsity: number | null;
  macs: number | null;
  latency: Record<string, { p50Ms: number; p95Ms: number; runs: number | null } | { note: string }>;
  devices: Record<string, { ok: boolean | null; verdicts: VerdictView[] }>;
  /** Per-layer breakdown, when the metrics (or evaluate's report.json) carry one. */
  layers: LayerView[] | null;
}

export interface BudgetsView {
  met: boolean | null;
  best: string | null;
  passing: string[];
  closest: string | null;
  message: string | null;
}

export interface EvaluateView {
  node: string;
  /** The decoded evaluation; null when the metrics are not one (then `error` says why). */
  evaluation: Evaluation | null;
  error: string | null;
  reference: string | null;
  referenceAccuracy: number | null;
  candidates: CandidateView[];
  budgets: BudgetsView | null;
}

/** Extra per-layer data found outside run.json: evaluate node id -> candidate id -> layers. */
export type LayerSupplement = Record<string, Record<string, LayerView[]>>;

function candidateOf(c: EvaluatedCandidate, layers: LayerView[] | undefined): CandidateView {
  const kb = sizesKb(c.sizeBytes);
  const sizeKb = {} as Record<SizeKind, number | null>;
  // A packed size of 0 means "not produced", not a 0-byte model.
  for (const k of SIZE_KINDS) sizeKb[k] = kb[k] > 0 ? kb[k] : null;
  const latency: CandidateView['latency'] = {};
  for (const [dev, l] of Object.entries(c.latency)) latency[dev] = l.measured ? { p50Ms: l.p50Ms, p95Ms: l.p95Ms, runs: l.runs } : { note: l.note };
  const devices: CandidateView['devices'] = {};
  for (const [dev, d] of Object.entries(c.devices)) {
    devices[dev] = {
      ok: d.ok,
      verdicts: d.verdicts.map((v) => ({
        limit: v.limit,
        bound: v.min !== undefined ? '>=' : '<=',
        limitValue: v.min ?? v.max ?? null,
        measured: v.measured,
        unit: v.unit,
        ok: v.ok,
        unstable: v.unstable === true,
        margin: v.margin,
      })),
    };
  }
  return {
    id: c.node,
    stage: c.stage,
    reference: c.reference,
    judged: c.judged,
    accuracy: c.accuracy ?? null,
    accuracyDropPp: c.accuracyDropPp ?? null,
    agreement: c.agreement?.top1 ?? null,
    sizeKb,
    params: c.params,
    nonZeros: c.nonZeros,
    sparsity: c.sparsity,
    macs: c.macs,
    latency,
    devices,
    layers: layers ?? null,
  };
}

/** Nodes whose metrics carry evaluate's `candidates`, in record order, decoded through the contract. */
export function evaluateViews(record: RunRecord, supplement: LayerSupplement = {}): EvaluateView[] {
  const out: EvaluateView[] = [];
  for (const node of record.nodes) {
    if (!looksLikeEvaluation(node.metrics)) continue;
    const decoded = decodeEvaluation(node.metrics, `metrics of ${node.id}`);
    if (!decoded.ok) {
      // A plugin's metrics may have `candidates` of their own: only an evaluate node's must decode.
      if (node.uses !== 'evaluate') continue;
      out.push({ node: node.id, evaluation: null, error: decoded.error, reference: null, referenceAccuracy: null, candidates: [], budgets: null });
      continue;
    }
    const e = decoded.value;
    const extra = supplement[node.id] ?? {};
    out.push({
      node: node.id,
      evaluation: e,
      error: null,
      reference: e.reference,
      referenceAccuracy: e.referenceAccuracy ?? null,
      candidates: e.candidates.map((c) => candidateOf(c, extra[c.node])),
      budgets: { met: e.budgets.met, best: e.budgets.best, passing: e.budgets.passing, closest: e.budgets.closest?.candidate ?? null, message: e.budgets.message },
    });
  }
  return out;
}

/** Numbers with 3 significant digits, no exponent, no trailing zeros (as evaluate prints them). */
export function fmt(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : fmtNumber(n);
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${fmt(s)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m} min ${rest} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtPercentFraction(f: number | null): string {
  return f === null ? '–' : `${fmt(f * 100)}%`;
}

/** The few metrics worth a column in the stage table: accuracy (and before), sparsity, compression, budgets. */
export function keyMetrics(node: RunRecordNode): string {
  const m = node.metrics;
  const parts: string[] = [];
  const acc = asNumber(m['accuracy']);
  const before = asNumber(m['accuracyBefore']);
  if (acc !== null) parts.push(before !== null ? `accuracy ${fmt(before)}% → ${fmt(acc)}%` : `accuracy ${fmt(acc)}%`);
  const sp = asNumber(m['sparsity']);
  if (sp !== null) parts.push(`sparsity ${fmtPercentFraction(sp)}`);
  const comp = asNumber(m['compression']);
  if (comp !== null) parts.push(`compression ${fmt(comp)}×`);
  const bits = asNumber(m['bits']) ?? (node.uses === 'share' ? asNumber(node.config['bits']) : null);
  if (bits !== null) parts.push(`${fmt(bits)} bits`);
  if (looksLikeEvaluation(m)) {
    const e = decodeEvaluation(m, `metrics of ${node.id}`);
    if (e.ok) {
      const n = e.value.candidates.length;
      parts.push(`${n} candidate${n === 1 ? '' : 's'}`);
      parts.push(e.value.budgets.met ? `budgets met (best ${e.value.budgets.best ?? '?'})` : 'budgets MISSED');
    } else if (node.uses === 'evaluate') parts.push('evaluation unreadable');
  }
  const chosen = asString(m['chosen']) ?? asString(m['selected']);
  if (chosen !== null) parts.push(`chose ${chosen}`);
  return parts.join(', ');
}

/** Accuracy of a node's output as its metrics state it (evaluate: none; its candidates carry theirs). */
export function nodeAccuracy(node: RunRecordNode): { before: number | null; after: number | null } {
  return { before: asNumber(node.metrics['accuracyBefore']), after: asNumber(node.metrics['accuracy']) };
}

/** Size points (KB) of a node's output, from any evaluate node that measured it as a candidate. */
export function sizesByNode(views: EvaluateView[]): Map<string, CandidateView> {
  const out = new Map<string, CandidateView>();
  for (const v of views) for (const c of v.candidates) if (!out.has(c.id)) out.set(c.id, c);
  return out;
}

/** Which size the Pareto chart uses: packed when every candidate has one, else gzip, else raw. */
export function paretoSizeKind(cands: CandidateView[]): SizeKind {
  for (const k of ['packed', 'gzip', 'raw'] as const) if (cands.every((c) => c.sizeKb[k] !== null)) return k;
  return 'raw';
}
