/**
 * The auto stage's search as Pareto charts, one per device: the device's
 * searched resource on x (p95 or p50 latency in ms when it has a latency
 * budget, else packed size in KB), calibration accuracy on y, one point per
 * trial coloured by how it was found (the search, its repairs and explored runners-up, the
 * uniform baseline, random search), the chosen model ringed and labelled,
 * the device's limit as a dashed vertical line. The question it answers:
 * did the allocation find models the baselines did not, under the same
 * budget and fine-tuning?
 *
 * Read from the run record alone: the stage's `chart` metrics
 * (src/stages/auto/auto.ts), read defensively like other free-form
 * metrics (a value of the wrong type leaves the point or chart out).
 */
import type { Json } from '../plugin.js';
import { asNumber, asObject, asString, fmt } from './run-view.js';
import { axisOf, esc, FONT_PX, r1, scale, svgOpen, ticks } from './svg-chart.js';

type Kind = 'search' | 'uniform' | 'random';
type AxisKey = 'packedBytes' | 'p50Ms' | 'p95Ms';

export interface AutoTrialPoint {
  trial: number;
  kind: Kind;
  accuracy: number;
  packedBytes: number;
  p50Ms: number | null;
  p95Ms: number | null;
  meets: boolean;
}

export interface AutoChartView {
  node: string;
  best: number | null;
  axes: { device: string; axis: AxisKey; limit: number | null }[];
  trials: AutoTrialPoint[];
}

const KIND_COLOR: Record<Kind, string> = { search: '#d62728', uniform: '#1f77b4', random: '#999999' };
const KIND_LABEL: Record<Kind, string> = { search: 'search (repairs, explored)', uniform: 'uniform baseline', random: 'random search' };

const asArray = (j: Json | undefined): Json[] | null => (Array.isArray(j) ? j : null);

/** The view of an auto node's metrics; null when it has no chart data. */
export function autoChartView(node: string, metrics: Record<string, Json>): AutoChartView | null {
  const chart = asObject(metrics['chart']);
  if (!chart) return null;
  const axes = (asArray(chart['axes']) ?? []).flatMap((a) => {
    const o = asObject(a);
    const device = asString(o?.['device']);
    const axis = asString(o?.['axis']);
    if (!o || device === null || (axis !== 'packedBytes' && axis !== 'p50Ms' && axis !== 'p95Ms')) return [];
    return [{ device, axis: axis as AxisKey, limit: asNumber(o['limit']) }];
  });
  const trials = (asArray(chart['trials']) ?? []).flatMap((t) => {
    const o = asObject(t);
    const trial = asNumber(o?.['trial']);
    const kind = asString(o?.['kind']);
    const accuracy = asNumber(o?.['accuracy']);
    const packedBytes = asNumber(o?.['packedBytes']);
    if (!o || trial === null || kind === null || accuracy === null || packedBytes === null) return [];
    const k: Kind = kind === 'uniform' ? 'uniform' : kind === 'random' ? 'random' : 'search';
    return [{ trial, kind: k, accuracy, packedBytes, p50Ms: asNumber(o['p50Ms']), p95Ms: asNumber(o['p95Ms']), meets: o['meets'] === true }];
  });
  return { node, best: asNumber(metrics['best']), axes, trials };
}

/** One SVG per device axis with at least one trial measured on it. */
export function autoParetoCharts(v: AutoChartView): string[] {
  return v.axes.flatMap((a) => {
    const chart = deviceChart(v, a);
    return chart === null ? [] : [chart];
  });
}

function deviceChart(v: AutoChartView, a: AutoChartView['axes'][number]): string | null {
  const valueOf = (t: AutoTrialPoint): number | null => (a.axis === 'packedBytes' ? t.packedBytes / 1024 : t[a.axis]);
  const pts = v.trials.flatMap((t) => {
    const x = valueOf(t);
    return x === null ? [] : [{ t, x }];
  });
  if (pts.length === 0) return null;
  const limit = a.limit === null ? null : a.axis === 'packedBytes' ? a.limit / 1024 : a.limit;
  const unit = a.axis === 'packedBytes' ? 'KB' : 'ms';
  const xLabel = a.axis === 'packedBytes' ? 'packed size (KB)' : `${a.axis === 'p50Ms' ? 'p50' : 'p95'} latency (ms)`;
  const W = 600;
  const H = 360;
  const x0 = 64;
  const x1 = W - 170;
  const y0 = H - 50;
  const y1 = 24;
  const ax = axisOf([...pts.map((p) => p.x), ...(limit !== null ? [limit] : [])], false, 0.08);
  const ay = axisOf(pts.map((p) => p.t.accuracy), false, 0.1);
  const X = (n: number) => r1(scale(ax, n, x0, x1));
  const Y = (n: number) => r1(scale(ay, n, y0, y1));
  const kinds = (['search', 'uniform', 'random'] as const).filter((k) => pts.some((p) => p.t.kind === k));
  const label = `Auto search of ${v.node} for device ${a.device}: ${xLabel} vs accuracy of ${pts.length} trials (${kinds.join(', ')})`;
  const parts: string[] = [svgOpen(W, H, label)];
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#888"/>`);
  for (const t of ticks(ax)) parts.push(`<line x1="${X(t)}" y1="${y0}" x2="${X(t)}" y2="${y1}" stroke="#eee"/><text x="${X(t)}" y="${y0 + 14}" text-anchor="middle">${esc(fmt(t))}</text>`);
  for (const t of ticks(ay)) parts.push(`<line x1="${x0}" y1="${Y(t)}" x2="${x1}" y2="${Y(t)}" stroke="#eee"/><text x="${x0 - 6}" y="${Y(t)}" dy="4" text-anchor="end">${esc(fmt(t))}</text>`);
  parts.push(`<text x="${(x0 + x1) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="14" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">calibration accuracy (%)</text>`);
  if (limit !== null) {
    parts.push(`<line class="budget" x1="${X(limit)}" y1="${y0}" x2="${X(limit)}" y2="${y1}" stroke="#333" stroke-dasharray="5 3"><title>${esc(`${a.device} budget: ${fmt(limit)} ${unit}`)}</title></line>`);
  }
  for (const k of kinds) {
    parts.push(`<g class="series ${k}">`);
    for (const p of pts.filter((q) => q.t.kind === k)) {
      const tip = `trial ${p.t.trial} (${k}): ${fmt(p.x)} ${unit}, accuracy ${fmt(p.t.accuracy)}%${p.t.meets ? ', meets the budgets' : ''}${p.t.trial === v.best ? ', chosen' : ''}`;
      parts.push(`<circle cx="${X(p.x)}" cy="${Y(p.t.accuracy)}" r="4.5" fill="${KIND_COLOR[k]}" fill-opacity="${p.t.meets ? 1 : 0.45}" stroke="#333"><title>${esc(tip)}</title></circle>`);
    }
    parts.push('</g>');
  }
  const chosen = pts.find((p) => p.t.trial === v.best);
  if (chosen) {
    const cx = X(chosen.x);
    const cy = Y(chosen.t.accuracy);
    // The label sits on the side with room: left of points in the right half.
    const right = Number(cx) > (x0 + x1) / 2;
    parts.push(
      `<g class="chosen"><title>${esc(`chosen: trial ${chosen.t.trial}`)}</title><circle cx="${cx}" cy="${cy}" r="9" fill="none" stroke="#000" stroke-width="2"/><text x="${r1(Number(cx) + (right ? -12 : 12))}" y="${r1(Number(cy) - 10)}"${right ? ' text-anchor="end"' : ''}>chosen (trial ${chosen.t.trial})</text></g>`,
    );
  }
  // Legend inside the svg: the chart names its series on its own.
  const legend: [string, string][] = [...kinds.map((k) => [KIND_COLOR[k], KIND_LABEL[k]] as [string, string]), ...(chosen ? [['none', 'chosen model (ringed)'] as [string, string]] : []), ...(limit !== null ? [['#333', `budget ${fmt(limit)} ${unit}`] as [string, string]] : [])];
  legend.forEach(([color, text], i) => {
    const ly = y1 + 8 + i * (FONT_PX + 8);
    const mark = color === 'none' ? `<circle cx="${x1 + 25}" cy="${ly - 3}" r="5" fill="none" stroke="#000" stroke-width="2"/>` : `<rect x="${x1 + 20}" y="${ly - FONT_PX + 2}" width="10" height="10" fill="${color}"/>`;
    parts.push(`<g class="legend">${mark}<text x="${x1 + 36}" y="${ly + 1}">${esc(text)}</text></g>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
