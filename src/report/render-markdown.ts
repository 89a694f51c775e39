/**
 * report.md: the human summary of a run (docs/reports.md). A pure function of
 * the run record (plus, optionally, per-layer data read from evaluate's
 * report.json by writeRunReports).
 */
import type { RunRecord } from '../run/run-record.js';
import type { CandidateView, EvaluateView, LayerSupplement } from './run-view.js';
import { evaluateViews, fmt, fmtDuration, keyMetrics, SIZE_KINDS } from './run-view.js';

export interface RenderOptions {
  /** Per-layer rows found outside run.json (evaluate's report.json). */
  layers?: LayerSupplement;
}

/** Markdown-safe inline text: table pipes, HTML-significant characters and line breaks. */
export function mdText(s: string): string {
  return s.replace(/[\\|<&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], rows: string[][], align?: ('l' | 'r')[]): string[] {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [row(head), row(sep), ...rows.map(row)];
}

export function verdictWord(ok: boolean | null): string {
  return ok === null ? 'not measured' : ok ? 'ok' : 'missed';
}

function deviceSummary(c: CandidateView): string {
  const devs = Object.entries(c.devices);
  if (devs.length === 0) return '–';
  return devs.map(([d, v]) => `${mdText(d)} ${v.ok === false ? 'MISSED' : v.ok ? 'ok' : '?'}`).join(', ');
}

function evaluateSection(v: EvaluateView): string[] {
  const out: string[] = [];
  out.push(`## Evaluate: ${mdText(v.node)}`, '');
  if (v.reference !== null) out.push(`Reference: ${mdText(v.reference)}${v.referenceAccuracy !== null ? ` (${fmt(v.referenceAccuracy)}%)` : ''}`, '');
  if (v.budgets?.message) out.push(`**Budgets ${v.budgets.met ? 'met' : v.budgets.met === false ? 'MISSED' : '?'}**: ${mdText(v.budgets.message)}`, '');

  out.push('### Candidates', '');
  out.push(
    ...table(
      ['candidate', 'role', 'accuracy %', 'drop pp', 'raw KB', 'gzip KB', 'brotli KB', 'packed KB', 'sparsity', 'params', 'non-zeros', 'devices'],
      v.candidates.map((c) => [
        mdText(c.id),
        c.reference && !c.judged ? 'reference' : c.reference ? 'reference, judged' : 'candidate',
        fmt(c.accuracy),
        fmt(c.accuracyDropPp),
        ...SIZE_KINDS.map((k) => fmt(c.sizeKb[k])),
        c.sparsity === null ? '–' : `${fmt(c.sparsity * 100)}%`,
        fmt(c.params),
        fmt(c.nonZeros),
        deviceSummary(c),
      ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    '',
  );

  const verdictRows: string[][] = [];
  for (const c of v.candidates) {
    for (const [dev, d] of Object.entries(c.devices)) {
      for (const vd of d.verdicts) {
        const unit = vd.unit === '%' ? '%' : ` ${vd.unit}`;
        verdictRows.push([
          mdText(c.id),
          mdText(dev),
          mdText(vd.limit),
          vd.measured === null ? '–' : `${fmt(vd.measured)}${unit}`,
          vd.limitValue === null ? '–' : `${vd.bound} ${fmt(vd.limitValue)}${unit}`,
          verdictWord(vd.ok),
          mdText(vd.margin),
        ]);
      }
    }
  }
  if (verdictRows.length > 0) {
    out.push('### Device verdicts', '');
    out.push(...table(['candidate', 'device', 'limit', 'measured', 'limit value', 'verdict', 'margin'], verdictRows, ['l', 'l', 'l', 'r', 'r', 'l', 'l']), '');
  }

  const latRows: string[][] = [];
  for (const c of v.candidates) {
    for (const [dev, l] of Object.entries(c.latency)) {
      if ('note' in l) latRows.push([mdText(c.id), mdText(dev), '–', '–', '–', mdText(l.note)]);
      else latRows.push([mdText(c.id), mdText(dev), fmt(l.p50Ms), fmt(l.p95Ms), fmt(l.runs), '']);
    }
  }
  if (latRows.length > 0) {
    out.push('### Latency', '');
    out.push(...table(['candidate', 'device', 'p50 ms', 'p95 ms', 'runs', 'note'], latRows, ['l', 'l', 'r', 'r', 'r', 'l']), '');
  }

  const withLayers = v.candidates.filter((c) => c.layers !== null);
  if (withLayers.length > 0) {
    out.push('### Per layer', '');
    const rows: string[][] = [];
    for (const c of withLayers) {
      for (const l of c.layers!) {
        const kept = l.params !== null && l.params > 0 && l.nonZeros !== null ? `${fmt((100 * l.nonZeros) / l.params)}%` : '–';
        rows.push([mdText(c.id), mdText(l.name), mdText(l.className ?? ''), fmt(l.params), fmt(l.nonZeros), kept, fmt(l.macs), fmt(l.effectiveMacs)]);
      }
    }
    out.push(...table(['candidate', 'layer', 'class', 'weights', 'non-zeros', '% kept', 'MACs', 'effective MACs'], rows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r']), '');
  }
  return out;
}

export function renderRunMarkdown(record: RunRecord, options: RenderOptions = {}): string {
  const out: string[] = [];
  const v = record.versions;
  out.push(`# Run report: ${mdText(record.recipe.name)}`, '');
  out.push(
    `- status: **${mdText(record.status)}**`,
    `- recipe: ${mdText(record.recipe.file)}${record.recipe.overrides.length > 0 ? ` (overrides: ${record.recipe.overrides.map(mdText).join(', ')})` : ''}`,
    `- started ${mdText(record.startedAt)}, finished ${mdText(record.finishedAt)}, duration ${fmtDuration(record.durationMs)}`,
    `- versions: modelpress ${mdText(v.modelpress)}, node ${mdText(v.node)}, tfjs ${mdText(v.tfjs ?? 'none')}, backend ${mdText(v.backend)}`,
    `- jobs: ${record.jobs}`,
    '',
  );

  const evals = evaluateViews(record, options.layers);
  for (const e of evals) {
    if (e.budgets?.message) out.push(`> budget (${mdText(e.node)}): ${e.budgets.met ? 'met' : 'MISSED'}: ${mdText(e.budgets.message)}`, '');
  }

  out.push('## Stages', '');
  out.push(
    ...table(
      ['node', 'uses', 'status', 'cache hit', 'duration', 'key metrics'],
      record.nodes.map((n) => [
        mdText(n.id),
        mdText(n.uses),
        mdText(n.status),
        n.cacheHit ? 'yes' : 'no',
        fmtDuration(n.durationMs),
        mdText(keyMetrics(n) || (n.error ? `error (${n.error.phase}): ${n.error.message}` : '')),
      ]),
      ['l', 'l', 'l', 'l', 'r', 'l'],
    ),
    '',
  );

  const failed = record.nodes.filter((n) => n.error !== null);
  if (failed.length > 0) {
    out.push('## Errors', '');
    for (const n of failed) out.push(`- ${mdText(n.id)} (${mdText(n.error!.phase)}): ${mdText(n.error!.message)}`);
    out.push('');
  }

  for (const e of evals) out.push(...evaluateSection(e));

  const artifacts = Object.entries(record.artifacts);
  if (artifacts.length > 0) {
    out.push('## Artifacts', '');
    for (const [node, outs] of artifacts) {
      for (const [name, path] of Object.entries(outs)) out.push(`- ${mdText(node)} / ${mdText(name)}: ${mdText(path)}`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
