/**
 * THE markdown of an evaluation: evaluate's own report.md and the evaluate
 * section of the run's report.md are this one renderer (they were two, with
 * different columns and rounding). Per device, one line per candidate in the
 * words of the design ("phone: size 31 KB <= 40 KB ok, p95 latency 0.9 ms <=
 * 2 ms ok, accuracy 98.30% (-0.10 pp, max drop 0.5 pp) ok"), then the tables.
 */
import { amountOf } from './budget.js';
import type { DeviceVerdict, LimitKey, Verdict } from './budget.js';
import type { EvaluatedCandidate, Evaluation, LayerStats } from './evaluation.js';
import { NO_LABELS, SIZE_KINDS, sizesKb } from './evaluation.js';
import { fmt, fmtHundredths, fmtPercent, fmtSignedPp } from './format.js';
import { mdTable, mdText } from './markdown.js';

const LABELS: Record<LimitKey, string> = {
  size_kb: 'size',
  size_gzip_kb: 'gzip size',
  size_brotli_kb: 'brotli size',
  size_packed_kb: 'packed size',
  size_tflite_kb: '.tflite size',
  size_tflite_gzip_kb: '.tflite gzip size',
  latency_ms_p50: 'p50 latency',
  latency_ms_p95: 'p95 latency',
  accuracy_min: 'accuracy',
  accuracy_drop_pp: 'accuracy',
  agreement_min: 'agreement',
  parity: 'parity',
  runs: 'runs',
};

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One word for a limit's verdict: ok, missed, unstable, not measured. */
export function verdictWord(v: { ok: boolean | null; unstable?: boolean }): string {
  if (v.unstable) return 'unstable';
  return v.ok === null ? 'not measured' : v.ok ? 'ok' : 'missed';
}

function status(v: Verdict): string {
  if (v.ok === null) return v.margin;
  if (v.unstable) return `unstable (${v.margin.replace(/^unstable: /, '')})`;
  return v.ok ? 'ok' : `missed (${v.margin})`;
}

/** A value of `v`'s unit: accuracy in hundredths, the rest with 3 significant digits. */
function amount(v: Verdict, n: number): string {
  return v.limit === 'parity' || v.limit === 'runs' ? fmt(n) : amountOf(v.limit, n);
}

/** One limit in words: `size 31 KB <= 40 KB ok`. */
export function describeVerdict(v: Verdict, c: Pick<EvaluatedCandidate, 'accuracy' | 'accuracyDropPp'>): string {
  const label = LABELS[v.limit];
  // Parity's margin is its whole story (argmax counts, max |diff| of tfjs and packed, tolerance).
  if (v.limit === 'parity') return `${label} ${v.margin}${v.ok === null ? '' : v.ok ? ' ok' : ' missed'}`;
  if (v.limit === 'runs') return `${v.margin} missed`;
  if (v.limit === 'accuracy_drop_pp' && c.accuracy !== undefined && c.accuracyDropPp !== undefined) {
    return `${label} ${fmtPercent(c.accuracy)} (${fmtSignedPp(-c.accuracyDropPp)}, max drop ${fmtHundredths(v.max!)} pp) ${status(v)}`;
  }
  if (v.measured === null) return `${label} ${status(v)}`;
  const u = v.unit === '%' ? '%' : ` ${v.unit}`;
  const cmp = v.min !== undefined ? `>= ${amount(v, v.min)}` : `<= ${amount(v, v.max!)}`;
  return `${label} ${amount(v, v.measured)}${u} ${cmp}${u} ${status(v)}`;
}

/** `phone: size 31 KB <= 40 KB ok, ...`. */
export function deviceLine(device: string, c: EvaluatedCandidate): string {
  const d = c.devices[device];
  if (!d || d.verdicts.length === 0) return `${device}: no budget`;
  return `${device}: ${d.verdicts.map((v) => describeVerdict(v, c)).join(', ')}`;
}

/** A device's verdict in a table cell. */
export function deviceVerdictText(v: DeviceVerdict | undefined): string {
  if (!v || v.verdicts.length === 0) return 'no budget';
  if (v.ok) return v.unmeasured.length ? `ok (${v.unmeasured.length} not measured)` : 'ok';
  const unstable = new Set(v.unstable ?? []);
  const missed = v.missed.filter((k) => !unstable.has(k));
  return [missed.length ? `missed: ${missed.join(', ')}` : '', unstable.size ? `unstable: ${[...unstable].join(', ')}` : ''].filter(Boolean).join('; ');
}

function role(c: EvaluatedCandidate): string {
  return c.reference && !c.judged ? 'reference' : c.reference ? 'reference, judged' : 'candidate';
}

export interface EvaluationMarkdownOptions {
  /** Heading of the section. Default: `Evaluation`. */
  title?: string;
  /** Level of the section's heading (its subsections one deeper). Default: 1. */
  level?: number;
  /** Per-candidate layer rows (report.json detail), rendered as a "Per layer" table. Default: none. */
  layers?: Record<string, LayerStats[]>;
}

/** The markdown of `e`, ending with a newline. */
export function renderEvaluationMarkdown(e: Evaluation, options: EvaluationMarkdownOptions = {}): string {
  const h = '#'.repeat(options.level ?? 1);
  const hh = `${h}#`;
  const { budgets } = e;
  const out: string[] = [`${h} ${mdText(options.title ?? 'Evaluation')}`, ''];
  out.push(
    e.referenceAccuracy !== undefined
      ? `Accuracy on \`${mdText(e.data)}\` (${e.examples} examples); drops and agreement against \`${mdText(e.reference)}\` (${fmtPercent(e.referenceAccuracy)}). KB = 1024 bytes.`
      : `**${capitalized(NO_LABELS)}.** \`${mdText(e.data)}\` (${e.examples} examples) has no labels, so there is no accuracy; every candidate is compared with the outputs of \`${mdText(e.reference)}\`. KB = 1024 bytes.`,
    '',
  );
  out.push(`**Budgets: ${budgets.met ? 'met' : 'MISSED'}.** ${mdText(budgets.message)}`, '');
  if (budgets.unmeasured.length > 0) out.push(`Not measured (neither ok nor missed): ${budgets.unmeasured.map(mdText).join(', ')}.`, '');

  out.push(`${hh} Candidates`, '');
  const k = e.candidates.find((c) => c.k !== undefined)?.k;
  const agreementK = e.candidates.find((c) => c.agreement)?.agreement?.k;
  out.push(
    ...mdTable(
      [
        'candidate',
        'role',
        ...(e.labelled ? ['accuracy', 'Δ vs reference'] : []),
        ...(k ? [`top-${k}`] : []),
        ...(agreementK ? ['agreement', `top-${agreementK} overlap`, 'mean KL', 'max abs diff'] : []),
        ...SIZE_KINDS.map((s) => `${s} KB`),
        'sparsity',
        'params',
        'non-zeros',
        'MACs',
      ],
      e.candidates.map((c) => {
        const kb = sizesKb(c.sizeBytes);
        const a = c.agreement;
        return [
          mdText(c.node),
          role(c),
          ...(e.labelled ? [c.accuracy !== undefined ? fmtPercent(c.accuracy) : '–', c.accuracyDropPp !== undefined ? fmtSignedPp(-c.accuracyDropPp) : '–'] : []),
          ...(k ? [c.topKAccuracy !== undefined ? fmtPercent(c.topKAccuracy) : '–'] : []),
          ...(agreementK ? (a ? [fmtPercent(a.top1), fmtPercent(a.topKOverlap), fmt(a.meanKl), fmt(a.maxAbsDiff)] : ['–', '–', '–', '–']) : []),
          // A packed size of 0 means "not produced", not a 0-byte model.
          ...SIZE_KINDS.map((s) => (kb[s] > 0 ? fmt(kb[s]) : '–')),
          `${fmt(c.sparsity * 100)}%`,
          String(c.params),
          String(c.nonZeros),
          String(c.macs),
        ];
      }),
      ['l', 'l', ...(e.labelled ? ['r' as const, 'r' as const] : []), ...(k ? ['r' as const] : []), ...(agreementK ? (['r', 'r', 'r', 'r'] as const) : []), 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
  );

  for (const [name, d] of Object.entries(e.devices)) {
    out.push(`${hh} ${mdText(name)} (${mdText(d.runtime)}${d.backend ? ` ${mdText(d.backend)}` : ''}, ${d.threads} thread${d.threads === 1 ? '' : 's'}, batch ${d.batch})`, '');
    for (const c of e.candidates) out.push(`- ${mdText(c.node)}${c.judged ? '' : ' (reference, not judged)'}: ${deviceLine(name, c)}`);
    out.push('');
    out.push(
      ...mdTable(
        ['candidate', 'p50 ms', 'p95 ms', 'p95 95% interval', 'runs', 'p95/p50', 'verdict'],
        e.candidates.map((c) => {
          const l = c.latency[name];
          const verdict = mdText(deviceVerdictText(c.devices[name]));
          if (!l || !l.measured) return [mdText(c.node), '–', '–', '–', '–', '–', `${verdict}${l ? `; latency ${mdText(l.note)}` : ''}`];
          const iv = l.p95IntervalMs ? `${fmt(l.p95IntervalMs[0])}-${fmt(l.p95IntervalMs[1])}` : '–';
          return [mdText(c.node), fmt(l.p50Ms), fmt(l.p95Ms), iv, String(l.runs), fmt(l.spread), verdict];
        }),
        ['l', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
    );
  }

  const verdictRows: string[][] = [];
  for (const c of e.candidates) {
    for (const [dev, d] of Object.entries(c.devices)) {
      for (const v of d.verdicts) {
        const u = v.unit === '%' ? '%' : v.unit ? ` ${v.unit}` : '';
        const bound = v.min !== undefined ? `>= ${amount(v, v.min)}${u}` : v.max !== undefined ? `<= ${amount(v, v.max)}${u}` : '–';
        verdictRows.push([mdText(c.node), mdText(dev), v.limit, v.measured === null ? '–' : `${amount(v, v.measured)}${u}`, bound, verdictWord(v), mdText(v.margin)]);
      }
    }
  }
  if (verdictRows.length > 0) {
    out.push(`${hh} Device verdicts`, '');
    out.push(...mdTable(['candidate', 'device', 'limit', 'measured', 'limit value', 'verdict', 'margin'], verdictRows, ['l', 'l', 'l', 'r', 'r', 'l', 'l']), '');
  }

  const layerRows: string[][] = [];
  for (const c of e.candidates) {
    for (const l of options.layers?.[c.node] ?? []) {
      const kept = l.params > 0 ? `${fmt((100 * l.nonZeros) / l.params)}%` : '–';
      layerRows.push([mdText(c.node), mdText(l.name), mdText(l.className), String(l.params), String(l.nonZeros), kept, l.macs === null ? '–' : String(l.macs), l.effectiveMacs === null ? '–' : String(l.effectiveMacs)]);
    }
  }
  if (layerRows.length > 0) {
    out.push(`${hh} Per layer`, '');
    out.push(...mdTable(['candidate', 'layer', 'class', 'weights', 'non-zeros', '% kept', 'MACs', 'effective MACs'], layerRows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r']), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
