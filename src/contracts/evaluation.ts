/**
 * THE evaluation contract: what the evaluate stage measured and judged, as
 * one type with one JSON codec. evaluate encodes it into its metrics (and,
 * with per-candidate detail, into report.json); select, the run report and
 * the CLI decode it, so nobody reads metrics by hand and a change of shape is
 * a type error in every reader instead of a silent `null` in one of them.
 *
 * No tfjs, no node: imports, nothing from src/stages: src/report and src/cli
 * import it without loading stage code.
 *
 * Key order is part of report.json's (and run.json's) bytes, so the encoders
 * spell every object out in a fixed order; optional fields are left out when
 * absent, never written as null.
 */
import type { Json } from '../plugin.js';
import { BUDGET_KEYS } from './budget.js';
import type { Budget, BudgetKey, BudgetSummary, DeviceVerdict, JudgedCandidate, LimitKey, Measured, Miss, Verdict } from './budget.js';

export type SizeKind = 'raw' | 'gzip' | 'brotli' | 'packed';
export const SIZE_KINDS: readonly SizeKind[] = ['raw', 'gzip', 'brotli', 'packed'];
/**
 * Sizes in bytes; `tflite` / `tfliteGzip`: the candidate's int8 .tflite file
 * (src/formats/tflite/), present when a device runs `runtime: tflite` or
 * budgets a .tflite size, absent when it was not produced.
 */
export type Sizes = Record<SizeKind, number> & { tflite?: number; tfliteGzip?: number };

/** A device as evaluate judged it. */
export interface EvaluatedDevice {
  runtime: string;
  /** runtime browser: the tfjs backend of the page. */
  backend?: string;
  threads: number;
  batch: number;
  budget: Budget;
}

/** A latency that was not measured, and why (runtime not installed, `latency.measure: never`, ...). */
export interface LatencyNotMeasured {
  measured: false;
  note: string;
}

/** A latency measurement as the run metrics carry it (report.json adds `detail`). */
export interface LatencyMeasured {
  measured: true;
  runtime: string;
  /** runtime browser: the page's backend. */
  backend?: string;
  backendActual: string;
  threadsRequested: number;
  threadsActual: number | null;
  batch: number;
  p50Ms: number;
  p95Ms: number;
  runs: number;
  spread: number;
  stable: boolean;
  stopReason: string;
  /** ~95% confidence intervals of p50 / p95 (sample-stats.ts); null with too few runs. Judged for `unstable`. */
  p50IntervalMs: [number, number] | null;
  p95IntervalMs: [number, number] | null;
  /** Node runtimes: the child process; browser: the Chromium version. */
  pid?: number;
  browserVersion?: string;
  notes: string[];
  /** report.json only: warm-up, mean/min/max/stdev, shapes, versions (shape owned by src/measure). */
  detail?: Record<string, Json>;
}

export type CandidateLatency = LatencyMeasured | LatencyNotMeasured;

/**
 * How closely a candidate's outputs follow the reference's on the evaluation
 * data (src/measure/agreement.ts); needs no labels.
 */
export interface CandidateAgreement {
  /** Percent of examples whose top-1 class is the reference's. */
  top1: number;
  /** The k of the overlap: 5, or the class count when there are fewer classes. */
  k: number;
  /** Mean |topk(reference) ∩ topk(candidate)| / k, in percent. */
  topKOverlap: number;
  /** Mean KL(reference || candidate) in nats (probabilities floored at 1e-7 inside the log). */
  meanKl: number;
  /** Largest |reference - candidate| over every output value. */
  maxAbsDiff: number;
}

/** Why accuracy limits are not judged on unlabelled data (the report and the verdicts say it). */
export const NO_LABELS = 'no labels: judged by agreement';

/** One model evaluate measured. */
export interface EvaluatedCandidate {
  /** The node that produced it, e.g. `prune[sparsity=0.9]`. */
  node: string;
  stage: string;
  matrix: Record<string, string | number | boolean>;
  /** The accuracy baseline. */
  reference: boolean;
  /** Judged against the budgets (a named reference is not, unless it is the only model). */
  judged: boolean;
  /** Top-1 accuracy in percent; absent (not 0) when the data has no labels. */
  accuracy?: number;
  /** With evaluate's `topK` and labels. */
  topKAccuracy?: number;
  k?: number;
  /** Reference accuracy - this accuracy, in pp (positive = worse); absent without labels. */
  accuracyDropPp?: number;
  /** Agreement with the reference (the reference's own is 100%); absent in metrics written before it existed. */
  agreement?: CandidateAgreement;
  sizeBytes: Sizes;
  params: number;
  nonZeros: number;
  sparsity: number;
  macs: number;
  effectiveMacs: number;
  macsComplete: boolean;
  latency: Record<string, CandidateLatency>;
  /** Browser devices: the parity report of evaluate-browser.ts (kept verbatim; its verdict is in `devices`). */
  parity?: Record<string, Json>;
  devices: Record<string, DeviceVerdict>;
}

/** What one evaluate node measured and judged: its run metrics. */
export interface Evaluation {
  /** The dataset accuracy and agreement were measured on (a name under `data:`). */
  data: string;
  examples: number;
  /** false: the data has no labels, so there is no accuracy and candidates are judged by agreement. */
  labelled: boolean;
  topK?: number;
  /** The reference candidate's node. */
  reference: string;
  /** Absent without labels. */
  referenceAccuracy?: number;
  devices: Record<string, EvaluatedDevice>;
  /** In evaluate's input order. */
  candidates: EvaluatedCandidate[];
  budgets: BudgetSummary;
}

/** Per-candidate extras of report.json (not in the run metrics). */
export interface CandidateDetail {
  digest: string;
  /** Per shipped file sizes (src/measure/size.ts), verbatim. */
  size: Record<string, Json>;
  layers: LayerStats[];
}

export interface LayerStats {
  name: string;
  className: string;
  params: number;
  nonZeros: number;
  /** null: a layer whose MACs are not known (keras-topology.ts). */
  macs: number | null;
  effectiveMacs: number | null;
}

/** report.json of an evaluate node: the evaluation plus the data fingerprint and per-candidate detail. */
export interface EvaluationReport {
  evaluation: Evaluation;
  dataFingerprint: string;
  detail: Record<string, CandidateDetail>;
}

// ---------------------------------------------------------------- helpers

/**
 * What was measured for `c` on `device`, in the shape `judgeDevice` takes:
 * sizes in KB, accuracy and drop in percent / pp, latency percentiles in ms
 * with their confidence intervals; null with the reason when not measured.
 */
export function measured(c: Pick<EvaluatedCandidate, 'sizeBytes' | 'accuracy' | 'accuracyDropPp' | 'agreement' | 'latency'>, device: string): Measured {
  const l = c.latency[device];
  const m = l !== undefined && l.measured ? l : undefined;
  const values: Record<BudgetKey, number | null> = {
    size_kb: c.sizeBytes.raw / 1024,
    size_gzip_kb: c.sizeBytes.gzip / 1024,
    size_brotli_kb: c.sizeBytes.brotli / 1024,
    size_packed_kb: c.sizeBytes.packed / 1024,
    size_tflite_kb: c.sizeBytes.tflite !== undefined ? c.sizeBytes.tflite / 1024 : null,
    size_tflite_gzip_kb: c.sizeBytes.tfliteGzip !== undefined ? c.sizeBytes.tfliteGzip / 1024 : null,
    latency_ms_p50: m ? m.p50Ms : null,
    latency_ms_p95: m ? m.p95Ms : null,
    accuracy_min: c.accuracy ?? null,
    accuracy_drop_pp: c.accuracyDropPp ?? null,
    agreement_min: c.agreement ? c.agreement.top1 : null,
  };
  const notes: Measured['notes'] = {};
  if (c.accuracy === undefined) notes.accuracy_min = NO_LABELS;
  if (c.accuracyDropPp === undefined) notes.accuracy_drop_pp = NO_LABELS;
  if (!c.agreement) notes.agreement_min = 'agreement not measured';
  if (c.sizeBytes.tflite === undefined) {
    notes.size_tflite_kb = 'not measured: no .tflite file';
    notes.size_tflite_gzip_kb = 'not measured: no .tflite file';
  }
  if (!m) {
    const note = l === undefined ? 'not measured' : (l as LatencyNotMeasured).note;
    notes.latency_ms_p50 = note;
    notes.latency_ms_p95 = note;
  }
  const intervals: NonNullable<Measured['intervals']> = {};
  if (m?.p50IntervalMs) intervals.latency_ms_p50 = m.p50IntervalMs;
  if (m?.p95IntervalMs) intervals.latency_ms_p95 = m.p95IntervalMs;
  return { values, notes, ...(Object.keys(intervals).length > 0 ? { intervals } : {}) };
}

/** Sizes in KB (the budgets' unit). */
export function sizesKb(s: Sizes): Sizes {
  return { raw: s.raw / 1024, gzip: s.gzip / 1024, brotli: s.brotli / 1024, packed: s.packed / 1024 };
}

/**
 * What candidates are ranked by: top-1 accuracy with labels, top-1 agreement
 * with the reference without (the best a compressed model can do is what the
 * reference does); 0 when neither was measured.
 */
export function quality(c: Pick<EvaluatedCandidate, 'accuracy' | 'agreement'>): number {
  return c.accuracy ?? c.agreement?.top1 ?? 0;
}

/** A candidate in the shape `summarizeBudgets` takes. */
export function judgedCandidate(c: Pick<EvaluatedCandidate, 'node' | 'accuracy' | 'agreement' | 'sizeBytes' | 'devices'>): JudgedCandidate {
  return {
    node: c.node,
    ...(c.accuracy !== undefined ? { accuracy: c.accuracy } : {}),
    ...(c.agreement ? { agreement: c.agreement.top1 } : {}),
    rawBytes: c.sizeBytes.raw,
    devices: c.devices,
  };
}

/** The candidates judged against the budgets (select's choices), in evaluate's order. */
export function judgedCandidates(e: Evaluation): EvaluatedCandidate[] {
  return e.candidates.filter((c) => c.judged);
}

/** Whether a node's metrics claim to be an evaluation (they carry `candidates`); decode to know whether they are one. */
export function looksLikeEvaluation(metrics: Record<string, Json>): boolean {
  const c = metrics['candidates'];
  return typeof c === 'object' && c !== null && !Array.isArray(c);
}

// ---------------------------------------------------------------- encode

function encodeVerdict(v: Verdict): Json {
  return {
    limit: v.limit,
    ...(v.max !== undefined ? { max: v.max } : {}),
    ...(v.min !== undefined ? { min: v.min } : {}),
    measured: v.measured,
    unit: v.unit,
    ok: v.ok,
    ...(v.unstable ? { unstable: true, interval: v.interval! } : {}),
    excess: v.excess,
    margin: v.margin,
  };
}

export function encodeDeviceVerdict(d: DeviceVerdict): Json {
  return {
    ok: d.ok,
    missed: d.missed,
    ...(d.unstable ? { unstable: d.unstable } : {}),
    unmeasured: d.unmeasured,
    verdicts: d.verdicts.map(encodeVerdict),
  };
}

function encodeMiss(m: Miss): Json {
  return { device: m.device, limit: m.limit, measured: m.measured, budget: m.budget, unit: m.unit, margin: m.margin, ...(m.unstable ? { unstable: true } : {}) };
}

export function encodeBudgetSummary(b: BudgetSummary): Json {
  return {
    met: b.met,
    best: b.best,
    passing: b.passing,
    closest: b.closest === null ? null : { candidate: b.closest.candidate, missed: b.closest.missed.map(encodeMiss) },
    unmeasured: b.unmeasured,
    message: b.message,
  };
}

function encodeDevice(d: EvaluatedDevice): Json {
  const budget: Record<string, Json> = {};
  for (const [k, v] of Object.entries(d.budget)) if (v !== undefined) budget[k] = v;
  return { runtime: d.runtime, ...(d.backend !== undefined ? { backend: d.backend } : {}), threads: d.threads, batch: d.batch, budget };
}

/** `full`: report.json's form (detail instead of the intervals, which the detail carries). */
function encodeLatency(l: CandidateLatency, full: boolean): Json {
  if (!l.measured) return { measured: false, note: l.note };
  const base: Record<string, Json> = {
    measured: true,
    runtime: l.runtime,
    ...(l.backend !== undefined ? { backend: l.backend } : {}),
    backendActual: l.backendActual,
    threadsRequested: l.threadsRequested,
    threadsActual: l.threadsActual,
    batch: l.batch,
    p50Ms: l.p50Ms,
    p95Ms: l.p95Ms,
    runs: l.runs,
    spread: l.spread,
    stable: l.stable,
    stopReason: l.stopReason,
    ...(l.pid !== undefined ? { pid: l.pid } : { browserVersion: l.browserVersion ?? '' }),
    notes: l.notes,
  };
  if (full) return { ...base, ...(l.detail ?? {}) };
  return { ...base, p50IntervalMs: l.p50IntervalMs, p95IntervalMs: l.p95IntervalMs };
}

function candidateBase(c: EvaluatedCandidate): Record<string, Json> {
  return {
    stage: c.stage,
    matrix: c.matrix,
    reference: c.reference,
    judged: c.judged,
    ...(c.accuracy !== undefined ? { accuracy: c.accuracy } : {}),
    ...(c.topKAccuracy !== undefined ? { topKAccuracy: c.topKAccuracy, k: c.k ?? 0 } : {}),
    ...(c.accuracyDropPp !== undefined ? { accuracyDropPp: c.accuracyDropPp } : {}),
    ...(c.agreement ? { agreement: { ...c.agreement } } : {}),
    sizeBytes: { ...c.sizeBytes },
    sizeKb: { ...sizesKb(c.sizeBytes) },
    params: c.params,
    nonZeros: c.nonZeros,
    sparsity: c.sparsity,
    macs: c.macs,
    effectiveMacs: c.effectiveMacs,
    macsComplete: c.macsComplete,
  };
}

function encodeDevices(c: EvaluatedCandidate): Json {
  return Object.fromEntries(Object.entries(c.devices).map(([d, v]) => [d, encodeDeviceVerdict(v)]));
}

function head(e: Evaluation): Record<string, Json> {
  return {
    examples: e.examples,
    labelled: e.labelled,
    ...(e.topK !== undefined ? { topK: e.topK } : {}),
    reference: e.reference,
    ...(e.referenceAccuracy !== undefined ? { referenceAccuracy: e.referenceAccuracy } : {}),
    devices: Object.fromEntries(Object.entries(e.devices).map(([n, d]) => [n, encodeDevice(d)])),
  };
}

/** The run metrics of an evaluate node. */
export function encodeEvaluation(e: Evaluation): Record<string, Json> {
  const candidates: Record<string, Json> = {};
  for (const c of e.candidates) {
    candidates[c.node] = {
      ...candidateBase(c),
      latency: Object.fromEntries(Object.entries(c.latency).map(([d, l]) => [d, encodeLatency(l, false)])),
      ...(c.parity !== undefined ? { parity: c.parity } : {}),
      devices: encodeDevices(c),
    };
  }
  return { data: e.data, ...head(e), candidates, budgets: encodeBudgetSummary(e.budgets) };
}

/** report.json of an evaluate node. */
export function encodeEvaluationReport(r: EvaluationReport): Record<string, Json> {
  const e = r.evaluation;
  const candidates: Json[] = e.candidates.map((c) => {
    const d = r.detail[c.node];
    return {
      node: c.node,
      ...(d ? { digest: d.digest } : {}),
      ...candidateBase(c),
      ...(d ? { size: d.size, layers: d.layers.map((l) => ({ ...l })) } : {}),
      latency: Object.fromEntries(Object.entries(c.latency).map(([dev, l]) => [dev, encodeLatency(l, true)])),
      ...(c.parity !== undefined ? { parity: c.parity } : {}),
      devices: encodeDevices(c),
    };
  });
  return { stage: 'evaluate', data: e.data, dataFingerprint: r.dataFingerprint, ...head(e), candidates, budgets: encodeBudgetSummary(e.budgets) };
}

// ---------------------------------------------------------------- decode

/** A decoded value, or why the JSON is not one: `<path>: Expected X, got Y`. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

class DecodeError extends Error {}

function show(j: Json | undefined): string {
  if (j === undefined) return 'nothing';
  const s = JSON.stringify(j);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function fail(path: string, expected: string, got: Json | undefined): never {
  throw new DecodeError(`${path}: Expected ${expected}, got ${show(got)}`);
}

function key(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

function obj(j: Json | undefined, path: string): Record<string, Json> {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail(path, 'an object', j);
  return j;
}
function num(o: Record<string, Json>, k: string, path: string): number {
  const v = o[k];
  if (typeof v !== 'number') fail(key(path, k), 'a number', v);
  return v;
}
function numOrNull(o: Record<string, Json>, k: string, path: string): number | null {
  return o[k] === null ? null : num(o, k, path);
}
function str(o: Record<string, Json>, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(key(path, k), 'a string', v);
  return v;
}
function bool(o: Record<string, Json>, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(key(path, k), 'true or false', v);
  return v;
}
function strings(o: Record<string, Json>, k: string, path: string): string[] {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(key(path, k), 'a list of strings', v);
  return v as string[];
}
function optional<T>(o: Record<string, Json>, k: string, read: () => T): T | undefined {
  return o[k] === undefined ? undefined : read();
}
function interval(o: Record<string, Json>, k: string, path: string): [number, number] | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number') fail(key(path, k), 'null or [low, high] in ms', v);
  return [v[0], v[1]];
}

const LIMIT_KEYS: readonly string[] = [...BUDGET_KEYS, 'parity', 'runs'];

function decodeVerdict(j: Json, path: string): Verdict {
  const o = obj(j, path);
  const limit = str(o, 'limit', path);
  if (!LIMIT_KEYS.includes(limit)) fail(key(path, 'limit'), `one of ${LIMIT_KEYS.join(', ')}`, limit);
  const ok = o['ok'];
  if (ok !== null && typeof ok !== 'boolean') fail(key(path, 'ok'), 'true, false or null', ok);
  const max = optional(o, 'max', () => num(o, 'max', path));
  const min = optional(o, 'min', () => num(o, 'min', path));
  const v: Verdict = { limit: limit as LimitKey, ...(max !== undefined ? { max } : {}), ...(min !== undefined ? { min } : {}), measured: numOrNull(o, 'measured', path), unit: str(o, 'unit', path), ok, excess: numOrNull(o, 'excess', path), margin: str(o, 'margin', path) };
  if (o['unstable'] === true) {
    const iv = interval(o, 'interval', path);
    if (iv === null) fail(key(path, 'interval'), '[low, high] with unstable: true', o['interval']);
    return { ...v, unstable: true, interval: iv };
  }
  return v;
}

export function decodeDeviceVerdict(j: Json, path: string): DeviceVerdict {
  const o = obj(j, path);
  const verdicts = o['verdicts'];
  if (!Array.isArray(verdicts)) fail(key(path, 'verdicts'), 'a list', verdicts);
  const unstable = optional(o, 'unstable', () => strings(o, 'unstable', path)) as LimitKey[] | undefined;
  return {
    ok: bool(o, 'ok', path),
    missed: strings(o, 'missed', path) as LimitKey[],
    ...(unstable ? { unstable } : {}),
    unmeasured: strings(o, 'unmeasured', path) as LimitKey[],
    verdicts: verdicts.map((v, i) => decodeVerdict(v, `${path}.verdicts[${i}]`)),
  };
}

function decodeBudget(j: Json | undefined, path: string): Budget {
  const o = j === undefined ? {} : obj(j, path);
  const budget: Budget = {};
  for (const [k, v] of Object.entries(o)) {
    if (!(BUDGET_KEYS as readonly string[]).includes(k)) fail(key(path, k), `a budget key (${BUDGET_KEYS.join(', ')})`, k);
    if (typeof v !== 'number') fail(key(path, k), 'a number', v);
    budget[k as BudgetKey] = v;
  }
  return budget;
}

function decodeLatency(j: Json, path: string): CandidateLatency {
  const o = obj(j, path);
  if (o['measured'] === false) return { measured: false, note: str(o, 'note', path) };
  if (o['measured'] !== true) fail(key(path, 'measured'), 'true or false', o['measured']);
  const backend = optional(o, 'backend', () => str(o, 'backend', path));
  const pid = optional(o, 'pid', () => num(o, 'pid', path));
  const browserVersion = optional(o, 'browserVersion', () => str(o, 'browserVersion', path));
  return {
    measured: true,
    runtime: str(o, 'runtime', path),
    ...(backend !== undefined ? { backend } : {}),
    backendActual: str(o, 'backendActual', path),
    threadsRequested: num(o, 'threadsRequested', path),
    threadsActual: numOrNull(o, 'threadsActual', path),
    batch: num(o, 'batch', path),
    p50Ms: num(o, 'p50Ms', path),
    p95Ms: num(o, 'p95Ms', path),
    runs: num(o, 'runs', path),
    spread: num(o, 'spread', path),
    stable: bool(o, 'stable', path),
    stopReason: str(o, 'stopReason', path),
    // Absent in metrics written before they were part of the contract: no interval, no `unstable`.
    p50IntervalMs: interval(o, 'p50IntervalMs', path),
    p95IntervalMs: interval(o, 'p95IntervalMs', path),
    ...(pid !== undefined ? { pid } : {}),
    ...(browserVersion !== undefined ? { browserVersion } : {}),
    notes: strings(o, 'notes', path),
  };
}

function decodeSizes(j: Json | undefined, path: string): Sizes {
  const o = obj(j, path);
  const tflite = optional(o, 'tflite', () => num(o, 'tflite', path));
  const tfliteGzip = optional(o, 'tfliteGzip', () => num(o, 'tfliteGzip', path));
  return {
    raw: num(o, 'raw', path),
    gzip: num(o, 'gzip', path),
    brotli: num(o, 'brotli', path),
    packed: num(o, 'packed', path),
    ...(tflite !== undefined ? { tflite } : {}),
    ...(tfliteGzip !== undefined ? { tfliteGzip } : {}),
  };
}

function decodeAgreement(j: Json | undefined, path: string): CandidateAgreement {
  const o = obj(j, path);
  return { top1: num(o, 'top1', path), k: num(o, 'k', path), topKOverlap: num(o, 'topKOverlap', path), meanKl: num(o, 'meanKl', path), maxAbsDiff: num(o, 'maxAbsDiff', path) };
}

function decodeCandidate(node: string, j: Json, path: string): EvaluatedCandidate {
  const o = obj(j, path);
  const matrix = obj(o['matrix'], key(path, 'matrix'));
  for (const [k, v] of Object.entries(matrix)) if (typeof v === 'object' || v === null) fail(key(key(path, 'matrix'), k), 'a string, number or boolean', v);
  const topKAccuracy = optional(o, 'topKAccuracy', () => num(o, 'topKAccuracy', path));
  const accuracy = optional(o, 'accuracy', () => num(o, 'accuracy', path));
  const accuracyDropPp = optional(o, 'accuracyDropPp', () => num(o, 'accuracyDropPp', path));
  const agreement = optional(o, 'agreement', () => decodeAgreement(o['agreement'], key(path, 'agreement')));
  const latency: Record<string, CandidateLatency> = {};
  for (const [d, l] of Object.entries(obj(o['latency'], key(path, 'latency')))) latency[d] = decodeLatency(l, key(key(path, 'latency'), d));
  const devices: Record<string, DeviceVerdict> = {};
  for (const [d, v] of Object.entries(obj(o['devices'], key(path, 'devices')))) devices[d] = decodeDeviceVerdict(v, key(key(path, 'devices'), d));
  const parity = optional(o, 'parity', () => obj(o['parity'], key(path, 'parity')));
  return {
    node,
    stage: str(o, 'stage', path),
    matrix: matrix as EvaluatedCandidate['matrix'],
    reference: bool(o, 'reference', path),
    judged: bool(o, 'judged', path),
    ...(accuracy !== undefined ? { accuracy } : {}),
    ...(topKAccuracy !== undefined ? { topKAccuracy, k: num(o, 'k', path) } : {}),
    ...(accuracyDropPp !== undefined ? { accuracyDropPp } : {}),
    ...(agreement !== undefined ? { agreement } : {}),
    sizeBytes: decodeSizes(o['sizeBytes'], key(path, 'sizeBytes')),
    params: num(o, 'params', path),
    nonZeros: num(o, 'nonZeros', path),
    sparsity: num(o, 'sparsity', path),
    macs: num(o, 'macs', path),
    effectiveMacs: num(o, 'effectiveMacs', path),
    macsComplete: bool(o, 'macsComplete', path),
    latency,
    ...(parity !== undefined ? { parity } : {}),
    devices,
  };
}

function decodeMiss(j: Json, path: string): Miss {
  const o = obj(j, path);
  return {
    device: str(o, 'device', path),
    limit: str(o, 'limit', path) as LimitKey,
    measured: numOrNull(o, 'measured', path),
    budget: numOrNull(o, 'budget', path),
    unit: str(o, 'unit', path),
    margin: str(o, 'margin', path),
    ...(o['unstable'] === true ? { unstable: true as const } : {}),
  };
}

export function decodeBudgetSummary(j: Json | undefined, path: string): BudgetSummary {
  const o = obj(j, path);
  const best = o['best'];
  if (best !== null && typeof best !== 'string') fail(key(path, 'best'), 'a node id or null', best);
  let closest: BudgetSummary['closest'] = null;
  if (o['closest'] !== null) {
    const c = obj(o['closest'], key(path, 'closest'));
    const missed = c['missed'];
    if (!Array.isArray(missed)) fail(key(key(path, 'closest'), 'missed'), 'a list', missed);
    closest = { candidate: str(c, 'candidate', key(path, 'closest')), missed: missed.map((m, i) => decodeMiss(m, `${key(path, 'closest')}.missed[${i}]`)) };
  }
  return { met: bool(o, 'met', path), best, passing: strings(o, 'passing', path), closest, unmeasured: strings(o, 'unmeasured', path), message: str(o, 'message', path) };
}

/**
 * Reads an evaluate node's run metrics back into an Evaluation, checking
 * every field a reader uses. `where` names the source in the errors, e.g.
 * `metrics of eval` -> `metrics of eval.candidates.train.accuracy: Expected a
 * number, got "high"`.
 */
export function decodeEvaluation(metrics: Json, where = 'metrics'): Decoded<Evaluation> {
  try {
    const o = obj(metrics, where);
    const devices: Record<string, EvaluatedDevice> = {};
    for (const [name, d] of Object.entries(obj(o['devices'], key(where, 'devices')))) {
      const path = key(key(where, 'devices'), name);
      const dobj = obj(d, path);
      const backend = optional(dobj, 'backend', () => str(dobj, 'backend', path));
      devices[name] = { runtime: str(dobj, 'runtime', path), ...(backend !== undefined ? { backend } : {}), threads: num(dobj, 'threads', path), batch: num(dobj, 'batch', path), budget: decodeBudget(dobj['budget'], key(path, 'budget')) };
    }
    const candidates = Object.entries(obj(o['candidates'], key(where, 'candidates'))).map(([node, c]) => decodeCandidate(node, c, key(key(where, 'candidates'), node)));
    const topK = optional(o, 'topK', () => num(o, 'topK', where));
    // Absent in metrics written before unlabelled data could be evaluated: those were labelled.
    const labelled = optional(o, 'labelled', () => bool(o, 'labelled', where)) ?? true;
    const referenceAccuracy = optional(o, 'referenceAccuracy', () => num(o, 'referenceAccuracy', where));
    if (labelled) {
      if (referenceAccuracy === undefined) fail(key(where, 'referenceAccuracy'), 'a number (the data is labelled)', undefined);
      for (const c of candidates) if (c.accuracy === undefined) fail(key(key(key(where, 'candidates'), c.node), 'accuracy'), 'a number (the data is labelled)', undefined);
    }
    return {
      ok: true,
      value: {
        data: str(o, 'data', where),
        examples: num(o, 'examples', where),
        labelled,
        ...(topK !== undefined ? { topK } : {}),
        reference: str(o, 'reference', where),
        ...(referenceAccuracy !== undefined ? { referenceAccuracy } : {}),
        devices,
        candidates,
        budgets: decodeBudgetSummary(o['budgets'], key(where, 'budgets')),
      },
    };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    throw err;
  }
}

/** Per-candidate layer rows of an evaluate report.json (node -> layers); candidates without a valid list are left out. */
export function decodeReportLayers(report: Json, where = 'report.json'): Decoded<Record<string, LayerStats[]>> {
  try {
    const cands = obj(report, where)['candidates'];
    if (!Array.isArray(cands)) fail(key(where, 'candidates'), 'a list', cands);
    const out: Record<string, LayerStats[]> = {};
    cands.forEach((c, i) => {
      const path = `${key(where, 'candidates')}[${i}]`;
      const o = obj(c, path);
      const layers = o['layers'];
      if (!Array.isArray(layers)) return;
      out[str(o, 'node', path)] = layers.map((l, j) => {
        const lp = `${key(path, 'layers')}[${j}]`;
        const lo = obj(l, lp);
        return { name: str(lo, 'name', lp), className: str(lo, 'className', lp), params: num(lo, 'params', lp), nonZeros: num(lo, 'nonZeros', lp), macs: numOrNull(lo, 'macs', lp), effectiveMacs: numOrNull(lo, 'effectiveMacs', lp) };
      });
    });
    return { ok: true, value: out };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    throw err;
  }
}
