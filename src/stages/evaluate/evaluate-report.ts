/**
 * report.md of the evaluate stage: per device, one line per candidate in the
 * words of the design ("phone: size 31 KB <= 40 KB ok, p95 latency 0.9 ms <=
 * 2 ms ok, accuracy 98.3% (-0.1 pp) ok"), then a table of the numbers.
 */
import type { BudgetSummary, DeviceVerdict, LimitKey, Verdict } from './evaluate-verdicts.js';
import { fmt } from './evaluate-verdicts.js';

export interface ReportCandidate {
  node: string;
  reference: boolean;
  judged: boolean;
  accuracy: number;
  topK?: number;
  k?: number;
  /** accuracy - reference accuracy, in pp (negative = worse). */
  deltaPp: number;
  sizeBytes: { raw: number; gzip: number; brotli: number; packed: number };
  params: number;
  nonZeros: number;
  macs: number;
  /** Per device: p50/p95 in ms, or the reason it was not measured. */
  latency: Record<string, { p50Ms: number; p95Ms: number; runs: number; spread: number } | { note: string }>;
  devices: Record<string, DeviceVerdict>;
}

export interface ReportDevice {
  name: string;
  runtime: string;
  /** runtime browser: the tfjs backend in the page. */
  backend?: string;
  threads: number;
  batch: number;
  hasBudget: boolean;
}

const LABELS: Record<LimitKey, string> = {
  size_kb: 'size',
  size_gzip_kb: 'gzip size',
  size_brotli_kb: 'brotli size',
  size_packed_kb: 'packed size',
  latency_ms_p50: 'p50 latency',
  latency_ms_p95: 'p95 latency',
  accuracy_min: 'accuracy',
  accuracy_drop_pp: 'accuracy',
  parity: 'parity',
};

function status(v: Verdict): string {
  if (v.ok === null) return v.margin;
  return v.ok ? 'ok' : `missed (${v.margin})`;
}

/** One limit in words: `size 31 KB <= 40 KB ok`. */
export function describeVerdict(v: Verdict, c: Pick<ReportCandidate, 'accuracy' | 'deltaPp'>): string {
  const label = LABELS[v.limit];
  // Parity's margin is its whole story (argmax counts, max |diff| of tfjs and packed, tolerance).
  if (v.limit === 'parity') return `${label} ${v.margin}${v.ok === null ? '' : v.ok ? ' ok' : ' missed'}`;
  if (v.limit === 'accuracy_drop_pp') {
    const delta = `${c.deltaPp > 0 ? '+' : c.deltaPp < 0 ? '-' : '±'}${fmt(Math.abs(c.deltaPp))} pp`;
    return `${label} ${fmt(c.accuracy)}% (${delta}, max drop ${fmt(v.max!)} pp) ${status(v)}`;
  }
  if (v.measured === null) return `${label} ${status(v)}`;
  const cmp = v.min !== undefined ? `>= ${fmt(v.min)}` : `<= ${fmt(v.max!)}`;
  const u = v.unit === '%' ? '%' : ` ${v.unit}`;
  return `${label} ${fmt(v.measured)}${u} ${cmp}${u} ${status(v)}`;
}

/** `phone: size 31 KB <= 40 KB ok, ...`. */
export function deviceLine(device: string, c: ReportCandidate): string {
  const d = c.devices[device];
  if (!d || d.verdicts.length === 0) return `${device}: no budget`;
  return `${device}: ${d.verdicts.map((v) => describeVerdict(v, c)).join(', ')}`;
}

const kb = (bytes: number) => `${fmt(bytes / 1024)} KB`;

export function renderMarkdown(input: {
  data: string;
  examples: number;
  reference: string;
  candidates: readonly ReportCandidate[];
  devices: readonly ReportDevice[];
  budgets: BudgetSummary;
}): string {
  const { candidates, devices, budgets } = input;
  const out: string[] = ['# Evaluation', ''];
  out.push(`Accuracy on \`${input.data}\` (${input.examples} examples); drops against \`${input.reference}\`. KB = 1024 bytes.`, '');
  out.push(`**Budgets: ${budgets.met ? 'met' : 'missed'}.** ${budgets.message}`, '');
  if (budgets.unmeasured.length > 0) out.push(`Not measured (neither ok nor missed): ${budgets.unmeasured.join(', ')}.`, '');

  out.push('## Candidates', '');
  const k = candidates.find((c) => c.k !== undefined)?.k;
  out.push(`| candidate | accuracy | Δ vs reference |${k ? ` top-${k} |` : ''} raw | gzip | brotli | params | non-zeros | MACs |`);
  out.push(`| --- | --- | --- |${k ? ' --- |' : ''} --- | --- | --- | --- | --- | --- |`);
  for (const c of candidates) {
    const name = `${c.node}${c.reference ? ' (reference)' : ''}`;
    const delta = c.deltaPp === 0 ? '0 pp' : `${c.deltaPp > 0 ? '+' : ''}${fmt(c.deltaPp)} pp`;
    const topK = k ? ` ${c.topK !== undefined ? `${fmt(c.topK)}%` : ''} |` : '';
    out.push(
      `| ${name} | ${fmt(c.accuracy)}% | ${delta} |${topK} ${kb(c.sizeBytes.raw)} | ${kb(c.sizeBytes.gzip)} | ${kb(c.sizeBytes.brotli)} | ${c.params} | ${c.nonZeros} | ${c.macs} |`,
    );
  }
  out.push('');

  for (const d of devices) {
    out.push(`## ${d.name} (${d.runtime}${d.backend ? ` ${d.backend}` : ''}, ${d.threads} thread${d.threads === 1 ? '' : 's'}, batch ${d.batch})`, '');
    for (const c of candidates) out.push(`- ${c.node}${c.judged ? '' : ' (reference, not judged)'}: ${deviceLine(d.name, c)}`);
    out.push('', '| candidate | p50 | p95 | runs | p95/p50 | verdict |', '| --- | --- | --- | --- | --- | --- |');
    for (const c of candidates) {
      const l = c.latency[d.name];
      const v = c.devices[d.name];
      const verdict = !v || v.verdicts.length === 0 ? 'no budget' : v.ok ? (v.unmeasured.length ? `ok (${v.unmeasured.length} not measured)` : 'ok') : `missed: ${v.missed.join(', ')}`;
      if (!l || 'note' in l) out.push(`| ${c.node} | — | — | — | — | ${verdict}${l ? `; latency ${l.note}` : ''} |`);
      else out.push(`| ${c.node} | ${fmt(l.p50Ms)} ms | ${fmt(l.p95Ms)} ms | ${l.runs} | ${fmt(l.spread)} | ${verdict} |`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
