/**
 * report.html: one self-contained file (inline CSS, inline SVG drawn here, no
 * scripts, no fonts, no network) with the tables of report.md and charts of
 * size and accuracy through the stages and the Pareto front of candidates.
 */
import type { RunRecord } from '../run/run-record.js';
import type { RenderOptions } from './render-markdown.js';
import { verdictWord } from '../contracts/evaluation-markdown.js';
import { fmtHundredths } from '../contracts/format.js';
import { paretoFront } from '../contracts/pareto.js';
import { NO_LABELS } from '../contracts/evaluation.js';
import type { CandidateView, EvaluateView, SizeKind, VerdictView } from './run-view.js';
import { evaluateViews, fmt, fmtDuration, keyMetrics, nodeAccuracy, paretoSizeKind, SIZE_KINDS, sizesByNode } from './run-view.js';
import { placePointLabels } from './point-labels.js';
import { textWidthPx, truncateToWidth } from './text-width.js';
import { axisOf, esc, FONT_PX, r1, scale, svgOpen, ticks } from './svg-chart.js';
import { sensitivityCharts } from './sensitivity-chart.js';
import { autoChartView, autoParetoCharts } from './auto-chart.js';
import { decodeSensitivity } from '../contracts/sensitivity.js';
import type { Json } from '../plugin.js';

export { esc };

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#11691a}.missed{color:#b00020;font-weight:bold}.unstable{color:#a15c00;font-weight:bold}.nm{color:#777}
.banner{padding:.6em 1em;border-radius:4px;margin:1em 0}.banner.ok{background:#e7f5e8}.banner.missed{background:#fde8eb}
svg{background:#fff;border:1px solid #ddd;margin:.5em 0;max-width:100%;height:auto}svg text{font:11px sans-serif;fill:#333}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}`;

const COLORS: Record<SizeKind, string> = { raw: '#1f77b4', gzip: '#ff7f0e', brotli: '#2ca02c', packed: '#9467bd' };
const ACC_COLOR = '#d62728';

function td(text: string, cls = ''): string {
  return `<td${cls ? ` class="${cls}"` : ''}>${esc(text)}</td>`;
}
function tableHtml(head: string[], rows: string[], caption?: string): string {
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
function verdictClass(v: Pick<VerdictView, 'ok' | 'unstable'>): string {
  return v.unstable ? 'unstable' : v.ok === null ? 'nm' : v.ok ? 'ok' : 'missed';
}

/** Accuracy and drops in hundredths, as every report says them (src/contracts/format.ts). */
function hundredths(n: number | null): string {
  return n === null ? '–' : fmtHundredths(n);
}

// ---- charts -----------------------------------------------------------------

const M = { left: 64, right: 64, top: 24, bottom: 70 };
/** Rotated stage labels longer than this are cut with an ellipsis (full name in a <title>): the margin they need grows with their length. */
const MAX_STAGE_LABEL_PX = 180;
/** Stage labels are rotated by -30°. */
const COS30 = Math.cos(Math.PI / 6);
const SIN30 = 0.5;
/** Baseline of the stage labels below the x axis. */
const STAGE_LABEL_DY = 14;

/** (a) Size (log KB, per kind) and accuracy (%) of every node's output, in execution order. */
export function stagesChart(record: RunRecord, views: EvaluateView[]): string | null {
  const sized = sizesByNode(views);
  const steps = record.nodes
    .filter((n) => !n.metrics['candidates'])
    .map((n) => {
      const acc = nodeAccuracy(n).after ?? sized.get(n.id)?.accuracy ?? null;
      return { id: n.id, acc, size: sized.get(n.id) ?? null };
    })
    .filter((s) => s.acc !== null || s.size !== null);
  if (steps.length === 0) return null;
  const labels = steps.map((s) => {
    const text = truncateToWidth(s.id, MAX_STAGE_LABEL_PX, FONT_PX);
    return { text, full: s.id, width: textWidthPx(text, FONT_PX) };
  });
  // A label rotated by -30° about its end runs left by cos30·w and down by sin30·w,
  // plus its ascent (left) and descent (down): the svg clips whatever sticks out,
  // so the margins are reserved from the labels. Steps are at least 90 px apart.
  const ascent = 0.95 * FONT_PX;
  const descent = 0.3 * FONT_PX;
  const left = Math.ceil(Math.max(M.left, ...labels.map((l, i) => COS30 * l.width + SIN30 * ascent + 4 - 20 - 90 * i)));
  const bottom = Math.ceil(Math.max(M.bottom, STAGE_LABEL_DY + SIN30 * labels.reduce((m, l) => Math.max(m, l.width), 0) + COS30 * descent + 4));
  const W = Math.max(480, 90 * steps.length + left + M.right);
  const H = M.top + (320 - M.top - M.bottom) + bottom;
  const x0 = left;
  const x1 = W - M.right;
  const y0 = H - bottom;
  const y1 = M.top;
  const xAt = (i: number): number => (steps.length === 1 ? (x0 + x1) / 2 : x0 + 20 + (i * (x1 - x0 - 40)) / (steps.length - 1));
  const sizes = steps.flatMap((s) => (s.size ? SIZE_KINDS.map((k) => s.size!.sizeKb[k]).filter((v): v is number => v !== null) : []));
  const accs = steps.map((s) => s.acc).filter((v): v is number => v !== null);
  const label = `Size and accuracy through the stages of ${record.recipe.name}`;
  const parts: string[] = [svgOpen(W, H, label)];
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/>`);
  labels.forEach((l, i) => {
    const x = r1(xAt(i));
    const y = y0 + STAGE_LABEL_DY;
    const text = `<text x="${x}" y="${y}" text-anchor="end" transform="rotate(-30 ${x} ${y})">${esc(l.text)}</text>`;
    parts.push(l.text === l.full ? text : `<g><title>${esc(l.full)}</title>${text}</g>`);
  });
  if (sizes.length > 0) {
    const ay = axisOf(sizes, true);
    parts.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#888"/>`);
    for (const t of ticks(ay)) {
      const y = r1(scale(ay, t, y0, y1));
      parts.push(`<line x1="${x0 - 4}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/><text x="${x0 - 6}" y="${y}" text-anchor="end" dy="4">${esc(fmt(t))}</text>`);
    }
    parts.push(`<text x="14" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">size (KB, log scale)</text>`);
    for (const k of SIZE_KINDS) {
      const pts = steps.map((s, i) => ({ s, i, v: s.size?.sizeKb[k] ?? null })).filter((p): p is { s: (typeof steps)[number]; i: number; v: number } => p.v !== null);
      if (pts.length === 0) continue;
      parts.push(`<g class="series size-${k}">`);
      if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${COLORS[k]}" stroke-width="1.5" points="${pts.map((p) => `${r1(xAt(p.i))},${r1(scale(ay, p.v, y0, y1))}`).join(' ')}"/>`);
      for (const p of pts) {
        parts.push(`<rect x="${r1(xAt(p.i) - 3)}" y="${r1(scale(ay, p.v, y0, y1) - 3)}" width="6" height="6" fill="${COLORS[k]}"><title>${esc(`${p.s.id}: ${k} ${fmt(p.v)} KB`)}</title></rect>`);
      }
      parts.push('</g>');
    }
  }
  if (accs.length > 0) {
    const ay = axisOf(accs, false, 0.1);
    parts.push(`<line x1="${x1}" y1="${y0}" x2="${x1}" y2="${y1}" stroke="${ACC_COLOR}"/>`);
    for (const t of ticks(ay)) {
      const y = r1(scale(ay, t, y0, y1));
      parts.push(`<text x="${x1 + 6}" y="${y}" dy="4" fill="${ACC_COLOR}">${esc(fmt(t))}</text>`);
    }
    parts.push(`<text x="${W - 12}" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(90 ${W - 12} ${(y0 + y1) / 2})">accuracy (%)</text>`);
    const pts = steps.map((s, i) => ({ s, i })).filter((p) => p.s.acc !== null);
    parts.push('<g class="series accuracy">');
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${ACC_COLOR}" stroke-width="2" stroke-dasharray="5 3" points="${pts.map((p) => `${r1(xAt(p.i))},${r1(scale(ay, p.s.acc!, y0, y1))}`).join(' ')}"/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${r1(xAt(p.i))}" cy="${r1(scale(ay, p.s.acc!, y0, y1))}" r="4" fill="${ACC_COLOR}"><title>${esc(`${p.s.id}: accuracy ${fmt(p.s.acc)}%`)}</title></circle>`);
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  // The legend names only the series drawn (a run without evaluate has no sizes).
  const drawn = SIZE_KINDS.filter((k) => steps.some((s) => (s.size?.sizeKb[k] ?? null) !== null));
  const legend = `<p class="legend">${drawn.map((k) => `<span><i class="sw" style="background:${COLORS[k]}"></i>${k} KB</span>`).join('')}${accs.length > 0 ? `<span><i class="sw" style="background:${ACC_COLOR}"></i>accuracy %</span>` : ''}</p>`;
  return parts.join('') + legend;
}

/** (b) Candidates' size vs accuracy; the Pareto front (smaller and more accurate) as a polyline. Null below 2 candidates. */
export function paretoChart(v: EvaluateView): string | null {
  const cands = v.candidates.filter((c): c is CandidateView & { accuracy: number } => c.accuracy !== null);
  if (cands.length < 2) return null;
  const kind = paretoSizeKind(cands);
  const pts = cands.map((c) => ({ c, size: c.sizeKb[kind] ?? c.sizeKb.raw ?? 0, accuracy: c.accuracy }));
  // The contract's front over the points, by index (node = the index as text).
  const front = new Set(paretoFront(pts.map((p, i) => ({ node: String(i), value: p.size, accuracy: p.accuracy }))).map((p) => Number(p.node)));
  const W = 560;
  const H = 360;
  const x0 = M.left;
  const x1 = W - 24;
  const y0 = H - 50;
  const y1 = M.top;
  const ax = axisOf(pts.map((p) => p.size), true, 0.08);
  const ay = axisOf(pts.map((p) => p.accuracy), false, 0.1);
  const label = `Pareto front of ${v.node}: ${kind} size vs accuracy of ${pts.length} candidates`;
  const parts: string[] = [svgOpen(W, H, label)];
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#888"/>`);
  for (const t of ticks(ax)) {
    const x = r1(scale(ax, t, x0, x1));
    parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#eee"/><text x="${x}" y="${y0 + 14}" text-anchor="middle">${esc(fmt(t))}</text>`);
  }
  for (const t of ticks(ay)) {
    const y = r1(scale(ay, t, y0, y1));
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/><text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end">${esc(fmt(t))}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${H - 12}" text-anchor="middle">${esc(kind)} size (KB, log scale)</text>`);
  parts.push(`<text x="14" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">top-1 accuracy (%)</text>`);
  const order = [...front];
  // A polyline of one point has an empty box (nothing is drawn): a front of a
  // single candidate is shown by its red point alone.
  if (order.length > 1) parts.push(`<polyline class="pareto-front" fill="none" stroke="#d62728" stroke-width="2" points="${order.map((i) => `${r1(scale(ax, pts[i]!.size, x0, x1))},${r1(scale(ay, pts[i]!.accuracy, y0, y1))}`).join(' ')}"><title>Pareto front</title></polyline>`);
  const at = pts.map((p, i) => ({ x: scale(ax, p.size, x0, x1), y: scale(ay, p.accuracy, y0, y1), r: front.has(i) ? 6 : 4.5, text: p.c.id }));
  // Labels stay inside the svg (it clips) and off the axes' tick labels.
  const placed = placePointLabels(at, { left: x0 + 2, top: 2, right: W - 2, bottom: y0 - 2 }, FONT_PX);
  pts.forEach((p, i) => {
    const onFront = front.has(i);
    const cx = r1(at[i]!.x);
    const cy = r1(at[i]!.y);
    const spot = placed[i] ?? null;
    const tip = `${p.c.id}: ${fmt(p.size)} KB ${kind}, accuracy ${fmt(p.accuracy)}%${p.c.reference ? ' (reference)' : ''}${onFront ? ', on the Pareto front' : ''}`;
    parts.push(
      `<circle class="candidate${onFront ? ' front' : ''}" cx="${cx}" cy="${cy}" r="${at[i]!.r}" fill="${onFront ? '#d62728' : '#999'}" stroke="#333"><title>${esc(tip)}</title></circle>`,
    );
    if (spot === null) return; // no free spot: the point's <title> names it
    if (spot.leader) parts.push(`<line class="leader" x1="${cx}" y1="${cy}" x2="${r1(spot.x)}" y2="${r1(spot.y - 0.35 * FONT_PX)}" stroke="#bbb"/>`);
    parts.push(`<text x="${r1(spot.x)}" y="${r1(spot.y)}"${spot.anchor === 'end' ? ' text-anchor="end"' : ''}>${esc(p.c.id)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

// ---- page -------------------------------------------------------------------

function evaluateHtml(v: EvaluateView): string {
  const out: string[] = [`<h2>Evaluate: ${esc(v.node)}</h2>`];
  if (v.error !== null) out.push(`<p class="banner missed">Not shown: ${esc(v.error)}</p>`);
  if (v.reference !== null) out.push(`<p>Reference: ${esc(v.reference)}${v.referenceAccuracy !== null ? ` (${esc(hundredths(v.referenceAccuracy))}%)` : ''}</p>`);
  if (v.evaluation?.labelled === false) out.push(`<p>${esc(NO_LABELS)}.</p>`);
  if (v.budgets?.message) out.push(`<p class="banner ${v.budgets.met ? 'ok' : 'missed'}">Budgets ${v.budgets.met ? 'met' : 'MISSED'}: ${esc(v.budgets.message)}</p>`);
  out.push(
    tableHtml(
      ['candidate', 'role', 'accuracy %', 'drop pp', 'agreement %', 'raw KB', 'gzip KB', 'brotli KB', 'packed KB', 'sparsity', 'params', 'non-zeros'],
      v.candidates.map(
        (c) =>
          `<tr>${td(c.id)}${td(c.reference && !c.judged ? 'reference' : c.reference ? 'reference, judged' : 'candidate')}${td(hundredths(c.accuracy), 'n')}${td(hundredths(c.accuracyDropPp), 'n')}${td(hundredths(c.agreement), 'n')}${SIZE_KINDS.map((k) => td(fmt(c.sizeKb[k]), 'n')).join('')}${td(c.sparsity === null ? '–' : `${fmt(c.sparsity * 100)}%`, 'n')}${td(fmt(c.params), 'n')}${td(fmt(c.nonZeros), 'n')}</tr>`,
      ),
      'Candidates',
    ),
  );
  const pareto = paretoChart(v);
  if (pareto !== null) out.push('<h3>Pareto front</h3>', pareto);
  const rows: string[] = [];
  for (const c of v.candidates) {
    for (const [dev, d] of Object.entries(c.devices)) {
      for (const vd of d.verdicts) {
        const unit = vd.unit === '%' ? '%' : ` ${vd.unit}`;
        rows.push(
          `<tr>${td(c.id)}${td(dev)}${td(vd.limit)}${td(vd.measured === null ? '–' : `${fmt(vd.measured)}${unit}`, 'n')}${td(vd.limitValue === null ? '–' : `${vd.bound} ${fmt(vd.limitValue)}${unit}`, 'n')}${td(verdictWord(vd), verdictClass(vd))}${td(vd.margin)}</tr>`,
        );
      }
    }
  }
  if (rows.length > 0) out.push('<h3>Device verdicts</h3>', tableHtml(['candidate', 'device', 'limit', 'measured', 'limit value', 'verdict', 'margin'], rows));
  const lat: string[] = [];
  for (const c of v.candidates) {
    for (const [dev, l] of Object.entries(c.latency)) {
      lat.push('note' in l ? `<tr>${td(c.id)}${td(dev)}${td('–', 'n')}${td('–', 'n')}${td('–', 'n')}${td(l.note, 'nm')}</tr>` : `<tr>${td(c.id)}${td(dev)}${td(fmt(l.p50Ms), 'n')}${td(fmt(l.p95Ms), 'n')}${td(fmt(l.runs), 'n')}${td('')}</tr>`);
    }
  }
  if (lat.length > 0) out.push('<h3>Latency</h3>', tableHtml(['candidate', 'device', 'p50 ms', 'p95 ms', 'runs', 'note'], lat));
  const layerRows: string[] = [];
  for (const c of v.candidates) {
    for (const l of c.layers ?? []) {
      const kept = l.params !== null && l.params > 0 && l.nonZeros !== null ? `${fmt((100 * l.nonZeros) / l.params)}%` : '–';
      layerRows.push(`<tr>${td(c.id)}${td(l.name)}${td(l.className ?? '')}${td(fmt(l.params), 'n')}${td(fmt(l.nonZeros), 'n')}${td(kept, 'n')}${td(fmt(l.macs), 'n')}${td(fmt(l.effectiveMacs), 'n')}</tr>`);
    }
  }
  if (layerRows.length > 0) out.push('<h3>Per layer</h3>', tableHtml(['candidate', 'layer', 'class', 'weights', 'non-zeros', '% kept', 'MACs', 'effective MACs'], layerRows));
  return out.join('\n');
}

/** The sensitivity curves and the auto stage's per-device Pareto charts (sensitivity-chart.ts, auto-chart.ts). */
function searchHtml(record: RunRecord): string[] {
  const out: string[] = [];
  for (const n of record.nodes) {
    if (n.uses === 'sensitivity') {
      const d = decodeSensitivity(n.metrics as Json, `${n.id} metrics`);
      if (!d.ok) {
        if (n.status !== 'failed') out.push(`<h2>Sensitivity: ${esc(n.id)}</h2>`, `<p class="banner missed">Not shown: ${esc(d.error)}</p>`);
        continue;
      }
      const charts = sensitivityCharts(n.id, d.value);
      if (charts.length > 0) out.push(`<h2>Sensitivity: ${esc(n.id)}</h2>`, ...charts);
    } else if (n.uses === 'auto') {
      const view = autoChartView(n.id, n.metrics);
      const charts = view ? autoParetoCharts(view) : [];
      if (charts.length > 0) out.push(`<h2>Auto search: ${esc(n.id)}</h2>`, ...charts);
    }
  }
  return out;
}

export function renderRunHtml(record: RunRecord, options: RenderOptions = {}): string {
  const views = evaluateViews(record, options.layers);
  const v = record.versions;
  const body: string[] = [];
  body.push(`<h1>Run report: ${esc(record.recipe.name)}</h1>`);
  body.push(
    `<ul><li>status: <strong class="${record.status === 'succeeded' ? 'ok' : 'missed'}">${esc(record.status)}</strong></li><li>recipe: ${esc(record.recipe.file)}${record.recipe.overrides.length > 0 ? ` (overrides: ${esc(record.recipe.overrides.join(', '))})` : ''}</li><li>started ${esc(record.startedAt)}, finished ${esc(record.finishedAt)}, duration ${esc(fmtDuration(record.durationMs))}</li><li>versions: modelpress ${esc(v.modelpress)}, node ${esc(v.node)}, tfjs ${esc(v.tfjs ?? 'none')}, backend ${esc(v.backend)}</li><li>jobs: ${esc(String(record.jobs))}</li></ul>`,
  );
  for (const e of views) {
    if (e.budgets?.message) body.push(`<p class="banner ${e.budgets.met ? 'ok' : 'missed'}">budget (${esc(e.node)}): ${e.budgets.met ? 'met' : 'MISSED'}: ${esc(e.budgets.message)}</p>`);
  }
  body.push('<h2>Stages</h2>');
  body.push(
    tableHtml(
      ['node', 'uses', 'status', 'cache hit', 'duration', 'key metrics'],
      record.nodes.map(
        (n) =>
          `<tr>${td(n.id)}${td(n.uses)}${td(n.status, n.status === 'failed' ? 'missed' : n.status === 'ran' || n.status === 'cached' ? '' : 'nm')}${td(n.cacheHit ? 'yes' : 'no')}${td(fmtDuration(n.durationMs), 'n')}${td(keyMetrics(n) || (n.error ? `error (${n.error.phase}): ${n.error.message}` : ''))}</tr>`,
      ),
    ),
  );
  const chart = stagesChart(record, views);
  if (chart !== null) body.push('<h3>Size and accuracy through the stages</h3>', chart);
  for (const e of views) body.push(evaluateHtml(e));
  body.push(...searchHtml(record));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(`modelpress run report: ${record.recipe.name}`)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
