/**
 * The SVG primitives every report chart shares (render-html.ts's stages and
 * Pareto charts, sensitivity-chart.ts, auto-chart.ts): escaping, axes with
 * nice ticks (linear or log), coordinates rounded to 0.1 px, and the <svg>
 * opening with its accessible label and <title>. Plain strings, no
 * dependencies: the report is one self-contained file.
 */

/** Escapes text for HTML element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** svg text is 11px (render-html.ts's CSS). */
export const FONT_PX = 11;

/** Series colours (Tableau 10): one per layer or trial kind, in order. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const;

export interface Axis {
  min: number;
  max: number;
  log: boolean;
}
export function axisOf(values: number[], log: boolean, pad = 0.05): Axis {
  const vs = log ? values.filter((v) => v > 0).map(Math.log10) : values;
  let min = Math.min(...vs);
  let max = Math.max(...vs);
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (min === max) [min, max] = [min - (log ? 0.5 : Math.max(1, Math.abs(min) * 0.05)), max + (log ? 0.5 : Math.max(1, Math.abs(max) * 0.05))];
  const span = max - min;
  return { min: min - span * pad, max: max + span * pad, log };
}
export function scale(a: Axis, v: number, from: number, to: number): number {
  const x = a.log ? Math.log10(v) : v;
  return from + ((x - a.min) / (a.max - a.min)) * (to - from);
}
export function ticks(a: Axis): number[] {
  if (a.log) {
    const out: number[] = [];
    for (let e = Math.floor(a.min); e <= Math.ceil(a.max); e++) for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= a.min && Math.log10(v) <= a.max) out.push(v);
    }
    return out;
  }
  const raw = (a.max - a.min) / 5;
  const step = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(a.min / nice) * nice; v <= a.max + 1e-9; v += nice) out.push(Number(v.toPrecision(12)));
  return out;
}
export const r1 = (n: number): string => String(Math.round(n * 10) / 10);

export function svgOpen(w: number, h: number, label: string): string {
  return `<svg role="img" aria-label="${esc(label)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><title>${esc(label)}</title>`;
}

