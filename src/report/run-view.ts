/**
 * A typed, defensive view of a run record for the report renderers: node
 * metrics are free-form JSON, so everything read from them is checked and
 * missing or malformed values become null instead of throwing.
 */
import type { Json } from '../plugin.js';
import type { RunRecord, RunRecordNode } from '../run/run-record.js';
import { fmt as fmtNumber } from '../stages/evaluate/evaluate-verdicts.js';

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

export const SIZE_KINDS = ['raw', 'gzip', 'brotli', 'packed'] as const;
export type SizeKind = (typeof SIZE_KINDS)[number];

export interface VerdictView {
  limit: string;
  /** `<=` for a maximum, `>=` for a minimum. */
  bound: '<=' | '>=';
  limitValue: number | null;
  measured: number | null;
  unit: string;
  /** true ok, false missed, null not measured. */
  ok: boolean | null;
  margin: string;
}

export interface LayerView {
  name: string;
  className: string | null;
  params: number | null;
  nonZeros: number | null;
  macs: number | null;
  effectiveMacs: number | null;
}

export interface CandidateView {
  id: string;
  stage: string | null;
  reference: boolean;
  judged: boolean;
  accuracy: number | null;
  accuracyDropPp: number | null;
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
  reference: string | null;
  referenceAccuracy: number | null;
  candidates: CandidateView[];
  budgets: BudgetsView | null;
}

/** Extra per-layer data found outside run.json: evaluate node id -> candidate id -> layers. */
export type LayerSupplement = Record<string, Record<string, LayerView[]>>;

export function layersOf(j: Json | undefined): LayerView[] | null {
  if (!Array.isArray(j)) return null;
  const out: LayerView[] = [];
  for (const l of j) {
    const o = asObject(l);
    if (o === null) continue;
    const name = asString(o['name']);
    if (name === null) continue;
    out.push({
      name,
      className: asString(o['className']),
      params: asNumber(o['params']),
      nonZeros: asNumber(o['nonZeros']),
      macs: asNumber(o['macs']),
      effectiveMacs: asNumber(o['effectiveMacs']),
    });
  }
  return out.length > 0 ? out : null;
}

function verdictOf(j: Json): VerdictView | null {
  const o = asObject(j);
  if (o === null) return null;
  const min = asNumber(o['min']);
  const ok = o['ok'];
  return {
    limit: asString(o['limit']) ?? '?',
    bound: min !== null ? '>=' : '<=',
    limitValue: min ?? asNumber(o['max']),
    measured: asNumber(o['measured']),
    unit: asString(o['unit']) ?? '',
    ok: typeof ok === 'boolean' ? ok : null,
    margin: asString(o['margin']) ?? '',
  };
}

function candidateOf(id: string, j: Json, layers: LayerView[] | undefined): CandidateView {
  const o = asObject(j) ?? {};
  const kb = asObject(o['sizeKb']);
  const bytes = asObject(o['sizeBytes']);
  const sizeKb = {} as Record<SizeKind, number | null>;
  for (const k of SIZE_KINDS) {
    const v = asNumber(kb?.[k]) ?? (asNumber(bytes?.[k]) !== null ? asNumber(bytes?.[k])! / 1024 : null);
    // A packed size of 0 means "not produced", not a 0-byte model.
    sizeKb[k] = v !== null && v > 0 ? v : null;
  }
  const latency: CandidateView['latency'] = {};
  for (const [dev, l] of Object.entries(asObject(o['latency']) ?? {})) {
    const lo = asObject(l);
    if (lo === null) continue;
    const p50 = asNumber(lo['p50Ms']);
    const p95 = asNumber(lo['p95Ms']);
    if (lo['measured'] !== false && p50 !== null && p95 !== null) latency[dev] = { p50Ms: p50, p95Ms: p95, runs: asNumber(lo['runs']) };
    else latency[dev] = { note: asString(lo['note']) ?? 'not measured' };
  }
  const devices: CandidateView['devices'] = {};
  for (const [dev, d] of Object.entries(asObject(o['devices']) ?? {})) {
    const dobj = asObject(d);
    if (dobj === null) continue;
    const verdicts = Array.isArray(dobj['verdicts']) ? dobj['verdicts'].map(verdictOf).filter((v): v is VerdictView => v !== null) : [];
    devices[dev] = { ok: asBoolean(dobj['ok']), verdicts };
  }
  return {
    id,
    stage: asString(o['stage']),
    reference: o['reference'] === true,
    judged: o['judged'] !== false,
    accuracy: asNumber(o['accuracy']),
    accuracyDropPp: asNumber(o['accuracyDropPp']),
    sizeKb,
    params: asNumber(o['params']),
    nonZeros: asNumber(o['nonZeros']),
    sparsity: asNumber(o['sparsity']),
    macs: asNumber(o['macs']),
    latency,
    devices,
    layers: layersOf(o['layers']) ?? layers ?? null,
  };
}

/** Nodes whose metrics carry evaluate's `candidates`, in record order. */
export function evaluateViews(record: RunRecord, supplement: LayerSupplement = {}): EvaluateView[] {
  const out: EvaluateView[] = [];
  for (const node of record.nodes) {
    const cands = asObject(node.metrics['candidates']);
    if (cands === null) continue;
    const b = asObject(node.metrics['budgets']);
    const closest = asObject(b?.['closest']);
    const extra = supplement[node.id] ?? {};
    out.push({
      node: node.id,
      reference: asString(node.metrics['reference']),
      referenceAccuracy: asNumber(node.metrics['referenceAccuracy']),
      candidates: Object.entries(cands).map(([id, c]) => candidateOf(id, c, extra[id])),
      budgets:
        b === null
          ? null
          : {
              met: asBoolean(b['met']),
              best: asString(b['best']),
              passing: Array.isArray(b['passing']) ? b['passing'].filter((p): p is string => typeof p === 'string') : [],
              closest: asString(closest?.['candidate']),
              message: asString(b['message']),
            },
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
  const cands = asObject(m['candidates']);
  if (cands !== null) {
    const n = Object.keys(cands).length;
    parts.push(`${n} candidate${n === 1 ? '' : 's'}`);
    const b = asObject(m['budgets']);
    const met = asBoolean(b?.['met']);
    if (met !== null) parts.push(met ? `budgets met (best ${asString(b?.['best']) ?? '?'})` : 'budgets MISSED');
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

/** Indices of the non-dominated points (smaller size and higher accuracy are better), sorted by size. */
export function paretoFront(points: { size: number; accuracy: number }[]): number[] {
  const front: number[] = [];
  points.forEach((p, i) => {
    const dominated = points.some(
      (q, j) => j !== i && q.size <= p.size && q.accuracy >= p.accuracy && (q.size < p.size || q.accuracy > p.accuracy),
    );
    // Exact duplicates: keep the first only.
    const duplicate = points.some((q, j) => j < i && q.size === p.size && q.accuracy === p.accuracy);
    if (!dominated && !duplicate) front.push(i);
  });
  return front.sort((a, b) => points[a]!.size - points[b]!.size);
}
