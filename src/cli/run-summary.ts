/**
 * The story of a run in a few lines, printed after `run` finishes: per
 * evaluate node, one line per candidate with its key numbers (accuracy and
 * drop in hundredths, the size the budget constrains, p95 latency, the
 * verdict per device), then the model select chose and where export wrote
 * it, then where the final artifacts are. Without it the terminal said only
 * `succeeded: 3 ran` and the numbers a newcomer came for were in report.md.
 *
 * Everything evaluate measured is read through the evaluation contract
 * (src/contracts/evaluation.ts) and written with its formatters
 * (src/contracts/format.ts), so these lines say the same numbers as the
 * report. A node whose metrics do not decode gets one line saying so, never
 * a made-up number.
 */
import { dirname, join, resolve } from 'node:path';
import type { Json } from '../plugin.js';
import type { BudgetKey, DeviceVerdict } from '../contracts/budget.js';
import { budgetOutcomeOf } from '../contracts/budget-outcome.js';
import { decodeEvaluation, looksLikeEvaluation } from '../contracts/evaluation.js';
import type { EvaluatedCandidate, Evaluation, SizeKind } from '../contracts/evaluation.js';
import { fmt, fmtKb, fmtPercent, fmtSignedPp } from '../contracts/format.js';
import type { RunRecord } from '../run/run-record.js';

/** The size budget keys in the order a candidate line prefers them, with the size they constrain. */
const SIZE_LIMITS: readonly [BudgetKey, SizeKind][] = [
  ['size_kb', 'raw'],
  ['size_packed_kb', 'packed'],
  ['size_gzip_kb', 'gzip'],
  ['size_brotli_kb', 'brotli'],
];

/** The size the budgets constrain (the first size limit of any device), else the raw size. */
export function budgetedSizeKind(e: Pick<Evaluation, 'devices'>): SizeKind {
  for (const [key, kind] of SIZE_LIMITS) {
    if (Object.values(e.devices).some((d) => d.budget[key] !== undefined)) return kind;
  }
  return 'raw';
}

/** `phone ok`, `phone MISSED size_kb +3.2 KB over`, `phone unstable latency_ms_p95 ...`, `phone: no budget`. */
export function deviceVerdictWords(device: string, v: DeviceVerdict | undefined): string {
  if (!v || v.verdicts.length === 0) return `${device} no budget`;
  if (v.ok) return `${device} ok${v.unmeasured.length > 0 ? ` (not measured: ${v.unmeasured.join(', ')})` : ''}`;
  const unstable = new Set(v.unstable ?? []);
  const misses = v.verdicts.filter((x) => x.ok === false).map((x) => `${x.limit} ${x.margin}`);
  return `${device} ${unstable.size > 0 && unstable.size === v.missed.length ? 'UNSTABLE' : 'MISSED'} ${misses.join(', ')}`;
}

function qualityText(c: EvaluatedCandidate): string {
  if (c.accuracy !== undefined) {
    return `accuracy ${fmtPercent(c.accuracy)}${c.accuracyDropPp !== undefined && !c.reference ? ` (${fmtSignedPp(-c.accuracyDropPp)})` : ''}`;
  }
  return c.agreement ? `agreement ${fmtPercent(c.agreement.top1)}` : 'accuracy not measured';
}

function latencyText(c: EvaluatedCandidate): string {
  for (const l of Object.values(c.latency)) if (l.measured) return `p95 ${fmt(l.p95Ms)} ms`;
  return '';
}

/** The lines of one evaluation: a heading, then one line per candidate, columns aligned. */
export function evaluationLines(node: string, e: Evaluation): string[] {
  const kind = budgetedSizeKind(e);
  const sizeLabel = kind === 'raw' ? 'size' : `${kind} size`;
  const rows = e.candidates.map((c) => [
    `${c.node}${c.reference ? ' (reference)' : ''}`,
    qualityText(c),
    `${sizeLabel} ${fmtKb(c.sizeBytes[kind])}`,
    latencyText(c),
    Object.keys(e.devices)
      .map((d) => deviceVerdictWords(d, c.devices[d]))
      .join('; '),
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  const reference = e.referenceAccuracy !== undefined ? `; reference ${e.reference} ${fmtPercent(e.referenceAccuracy)}` : `; reference ${e.reference}`;
  return [
    `${node}: ${e.candidates.length} candidate${e.candidates.length === 1 ? '' : 's'} on \`${e.data}\` (${e.examples} examples${reference})`,
    ...rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd()),
  ];
}

function text(metrics: Record<string, Json>, key: string): string | undefined {
  const v = metrics[key];
  return typeof v === 'string' ? v : undefined;
}

export interface RunSummaryOptions {
  /** The run directory (artifact paths in run.json are relative to it). */
  runDir: string;
  /** How a path is shown, e.g. relative to the working directory. Default: as is. */
  showPath?: (path: string) => string;
}

/**
 * The summary lines of `record`: evaluations, the selected model, exports and
 * the final artifacts. Empty for a run with none of them.
 */
export function runSummaryLines(record: RunRecord, { runDir, showPath = (p) => p }: RunSummaryOptions): string[] {
  const out: string[] = [];
  const artifact = (node: string): string | undefined => {
    const outputs = record.artifacts[node];
    const model = outputs?.['model'] ?? (outputs ? Object.values(outputs)[0] : undefined);
    return model === undefined ? undefined : showPath(join(runDir, model));
  };
  for (const n of record.nodes) {
    if (n.status !== 'ran' && n.status !== 'cached') continue;
    // select's metrics carry `candidates` too (its ranking): only evaluate's
    // are an Evaluation; a plugin's that decode are shown, others skipped.
    if (!looksLikeEvaluation(n.metrics)) continue;
    const decoded = decodeEvaluation(n.metrics, `metrics of ${n.id}`);
    if (decoded.ok) out.push(...evaluationLines(n.id, decoded.value));
    else if (n.uses === 'evaluate') out.push(`${n.id}: not summarized: ${decoded.error}`);
  }
  const shown = new Set<string>();
  for (const n of record.nodes) {
    if (n.status !== 'ran' && n.status !== 'cached') continue;
    if (n.uses === 'select') {
      const chosen = text(n.metrics, 'chosen');
      if (chosen === undefined) continue;
      const objective = text(n.metrics, 'objective');
      const where = artifact(n.id);
      const outcome = budgetOutcomeOf(n.metrics, n.id);
      const why = outcome !== null && ('error' in outcome || !outcome.met) ? 'the closest to the budgets: none meets them' : `best ${objective ?? 'objective'} within the budgets`;
      out.push(`selected: ${chosen} (${why})${where ? ` -> ${where}` : ''}`);
      shown.add(n.id);
    } else if (n.uses === 'export') {
      const source = text(n.metrics, 'source') ?? '?';
      const format = text(n.metrics, 'format');
      const to = text(n.metrics, 'to');
      const where = artifact(n.id);
      // `to:` is relative to the recipe's folder, like every path in a recipe.
      const target = to !== undefined ? showPath(resolve(dirname(record.recipe.file), to)) : where;
      // The sidecar is what an app needs to feed the model: say it shipped, and from which data.
      const pre = n.metrics['preprocessing'];
      const sidecar = pre !== null && typeof pre === 'object' && !Array.isArray(pre) && Array.isArray(pre['files']) ? pre : undefined;
      const shipped = sidecar ? `, with ${(sidecar['files'] as Json[]).join(', ')} of \`${String(sidecar['data'])}\`` : '';
      out.push(`exported: ${source}${format ? ` (format ${format}${shipped})` : shipped}${target ? ` -> ${target}` : ''}`);
      shown.add(n.id);
    }
  }
  for (const node of Object.keys(record.artifacts)) {
    if (shown.has(node)) continue;
    const where = artifact(node);
    if (where) out.push(`output: ${node} -> ${where}`);
  }
  return out;
}
