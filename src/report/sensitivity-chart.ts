/**
 * The sensitivity stage's curves, as Distiller draws its sensitivity
 * analysis: one chart per family (sparsity, structured, bits, dtype), the
 * level on x and the metric (accuracy or agreement, %) on y, one line per
 * layer, the unmodified model as a dashed line. A layer whose line stays
 * flat to high levels can take aggressive settings; one that falls early
 * should stay gentle. Sparsity and structured ratios start at 0 (the
 * unmodified model); dtypes are categories.
 *
 * Read from the run record alone: the stage's metrics are the encoded
 * contract (src/contracts/sensitivity.ts), decoded, never parsed by hand.
 */
import type { Sensitivity, SensitivityFamily } from '../contracts/sensitivity.js';
import { SENSITIVITY_FAMILIES } from '../contracts/sensitivity.js';
import { fmt } from './run-view.js';
import { axisOf, esc, FONT_PX, PALETTE, r1, scale, svgOpen, ticks } from './svg-chart.js';
import type { Axis } from './svg-chart.js';
import { truncateToWidth } from './text-width.js';

const X_LABEL: Record<SensitivityFamily, string> = {
  sparsity: 'sparsity of the layer (%)',
  structured: 'units/filters removed from the layer (%)',
  bits: 'sharing bits per weight',
  dtype: 'weight storage dtype',
};

/** Legend entries are cut to this width (full name in a <title>). */
const LEGEND_PX = 140;

/** One SVG per family that has points; [] when none. */
export function sensitivityCharts(node: string, s: Sensitivity): string[] {
  return SENSITIVITY_FAMILIES.flatMap((f) => {
    const chart = familyChart(node, s, f);
    return chart === null ? [] : [chart];
  });
}

function familyChart(node: string, s: Sensitivity, family: SensitivityFamily): string | null {
  const points = s.points.filter((p) => p.family === family);
  if (points.length === 0) return null;
  const categorical = family === 'dtype';
  const percent = family === 'sparsity' || family === 'structured';
  const levels: (number | string)[] = [];
  for (const p of points) if (!levels.includes(p.level)) levels.push(p.level);
  // x of a level: its index for categories, else its value (fractions as %).
  const xOf = (level: number | string): number => (categorical ? levels.indexOf(level) : percent ? Number(level) * 100 : Number(level));
  const layers = s.layers.filter((l) => points.some((p) => p.layer === l));
  const metric = s.metric === 'accuracy' ? 'top-1 accuracy (%)' : 'top-1 agreement with the unmodified model (%)';

  const W = 600 + LEGEND_PX + 30;
  // Tall enough for the legend: one row per layer.
  const H = Math.max(340, 24 + 6 + layers.length * (FONT_PX + 7) + 50);
  const x0 = 64;
  const x1 = 600 - 24;
  const y0 = H - 50;
  const y1 = 24;
  const xs = [...levels.map(xOf), ...(percent ? [0] : [])];
  const ax: Axis = categorical ? { min: -0.5, max: levels.length - 0.5, log: false } : axisOf(xs, false, 0.05);
  const ay = axisOf([...points.map((p) => p.value), s.baseline], false, 0.08);
  const X = (v: number) => r1(scale(ax, v, x0, x1));
  const Y = (v: number) => r1(scale(ay, v, y0, y1));
  const label = `Sensitivity of ${node}: ${s.metric} vs ${family} level, one line per layer (${layers.join(', ')})`;
  const parts: string[] = [svgOpen(W, H, label)];
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#888"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#888"/>`);
  const xTicks = categorical ? levels.map((_, i) => i) : ticks(ax);
  for (const t of xTicks) {
    const text = categorical ? String(levels[t]) : fmt(t);
    parts.push(`<line x1="${X(t)}" y1="${y0}" x2="${X(t)}" y2="${y1}" stroke="#eee"/><text x="${X(t)}" y="${y0 + 14}" text-anchor="middle">${esc(text)}</text>`);
  }
  for (const t of ticks(ay)) {
    parts.push(`<line x1="${x0}" y1="${Y(t)}" x2="${x1}" y2="${Y(t)}" stroke="#eee"/><text x="${x0 - 6}" y="${Y(t)}" dy="4" text-anchor="end">${esc(fmt(t))}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${H - 12}" text-anchor="middle">${esc(X_LABEL[family])}</text>`);
  parts.push(`<text x="14" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">${esc(metric)}</text>`);
  parts.push(
    `<line class="baseline" x1="${x0}" y1="${Y(s.baseline)}" x2="${x1}" y2="${Y(s.baseline)}" stroke="#555" stroke-dasharray="4 3"><title>${esc(`unmodified model: ${fmt(s.baseline)}%`)}</title></line>`,
  );
  layers.forEach((layer, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = points
      .filter((p) => p.layer === layer)
      .map((p) => ({ x: xOf(p.level), level: p.level, value: p.value }))
      .sort((a, b) => a.x - b.x);
    const line = percent ? [{ x: 0, value: s.baseline }, ...pts] : pts;
    parts.push(`<g class="series layer"><title>${esc(layer)}</title>`);
    if (line.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${line.map((p) => `${X(p.x)},${Y(p.value)}`).join(' ')}"/>`);
    for (const p of pts) {
      const level = categorical ? String(p.level) : percent ? `${fmt(p.x)}%` : `${p.level} bits`;
      parts.push(`<circle cx="${X(p.x)}" cy="${Y(p.value)}" r="3.5" fill="${color}"><title>${esc(`${layer} at ${level}: ${fmt(p.value)}%`)}</title></circle>`);
    }
    parts.push('</g>');
    // The legend, inside the svg so the chart names its series on its own.
    const ly = y1 + 6 + i * (FONT_PX + 7);
    const text = truncateToWidth(layer, LEGEND_PX, FONT_PX);
    parts.push(`<g class="legend">${text === layer ? '' : `<title>${esc(layer)}</title>`}<rect x="${x1 + 20}" y="${ly - FONT_PX + 2}" width="10" height="10" fill="${color}"/><text x="${x1 + 36}" y="${ly + 1}">${esc(text)}</text></g>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
