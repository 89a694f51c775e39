/**
 * Places the name labels of scatter points so that none is drawn over
 * another label or another point, and none leaves the given area: candidates
 * of similar size and accuracy would otherwise print their names on top of
 * each other. Greedy and deterministic (points are taken left to right); a
 * label with no free spot is dropped, its point keeps the name in a <title>.
 */
import { textWidthPx } from './text-width.js';

export interface LabelPoint {
  x: number;
  y: number;
  /** Radius of the point's mark: labels keep clear of it. */
  r: number;
  text: string;
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface PlacedLabel {
  /** Baseline position of the text and its text-anchor. */
  x: number;
  y: number;
  anchor: 'start' | 'end';
  /** Moved away from its point by more than one line: draw a leader line to (x, y) of the point. */
  leader: boolean;
}

/** Vertical extent of a line of text around its baseline, in em (DejaVu Sans ascent and descent, rounded up). */
const ASCENT_EM = 0.95;
const DESCENT_EM = 0.3;
const GAP = 3;
/** How many extra lines away from its point a label may be stacked before it is dropped. */
const MAX_STACK = 3;

function intersects(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}
function inside(a: Box, area: Box): boolean {
  return a.left >= area.left && a.right <= area.right && a.top >= area.top && a.bottom <= area.bottom;
}

/** One placement per point, in the input order; null where the label is dropped. */
export function placePointLabels(points: LabelPoint[], area: Box, fontPx: number): (PlacedLabel | null)[] {
  const lineH = Math.ceil((ASCENT_EM + DESCENT_EM) * fontPx) + 1;
  const taken: Box[] = points.map((p) => ({ left: p.x - p.r - 1, top: p.y - p.r - 1, right: p.x + p.r + 1, bottom: p.y + p.r + 1 }));
  const out: (PlacedLabel | null)[] = points.map(() => null);
  const order = points.map((_, i) => i).sort((a, b) => points[a]!.x - points[b]!.x || points[a]!.y - points[b]!.y || a - b);
  const midX = (area.left + area.right) / 2;
  for (const i of order) {
    const p = points[i]!;
    const w = textWidthPx(p.text, fontPx);
    // Toward the middle first: a label beside a point near the edge has room on one side only.
    const sides: ('start' | 'end')[] = p.x > midX ? ['end', 'start'] : ['start', 'end'];
    const above = p.y - p.r - GAP - DESCENT_EM * fontPx;
    const below = p.y + p.r + GAP + ASCENT_EM * fontPx;
    const tries: PlacedLabel[] = [];
    for (let k = 0; k <= MAX_STACK; k++) {
      for (const anchor of sides) {
        const x = anchor === 'start' ? p.x + p.r + GAP : p.x - p.r - GAP;
        tries.push({ x, y: above - k * lineH, anchor, leader: k > 0 }, { x, y: below + k * lineH, anchor, leader: k > 0 });
      }
    }
    for (const t of tries) {
      const box: Box = {
        left: t.anchor === 'start' ? t.x : t.x - w,
        right: t.anchor === 'start' ? t.x + w : t.x,
        top: t.y - ASCENT_EM * fontPx,
        bottom: t.y + DESCENT_EM * fontPx,
      };
      if (!inside(box, area) || taken.some((b) => intersects(b, box))) continue;
      taken.push(box);
      out[i] = t;
      break;
    }
  }
  return out;
}
