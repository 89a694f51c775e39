/**
 * Width of chart text estimated without a browser: report.html is written in
 * Node, where no font is available to measure with. The advances are those
 * of DejaVu Sans (Debian's default sans-serif, and wider than Arial or
 * Helvetica), rounded up, so margins reserved from them hold on common fonts.
 */

/** Advance in em per character class; anything not listed counts as a wide glyph. */
const NARROW = new Set("iljI.,:;!|'`");
const SLIM = new Set('frt()[]{}-/\\ "');
const WIDE = new Set('mwMW%@=+<>~#&');
const EM_NARROW = 0.3;
const EM_SLIM = 0.42;
const EM_LOWER = 0.64;
const EM_UPPER = 0.75;
const EM_WIDE = 1.0;

function advanceEm(ch: string): number {
  if (NARROW.has(ch)) return EM_NARROW;
  if (SLIM.has(ch)) return EM_SLIM;
  if (WIDE.has(ch)) return EM_WIDE;
  if (/[a-z0-9_?*^$]/.test(ch)) return EM_LOWER;
  if (/[A-Z]/.test(ch)) return EM_UPPER;
  return EM_WIDE;
}

/** Estimated rendered width in px of `text` at `fontPx` (an upper bound for usual sans-serif fonts). */
export function textWidthPx(text: string, fontPx: number): number {
  let em = 0;
  for (const ch of text) em += advanceEm(ch);
  return em * fontPx;
}

/** `text` itself when it fits in `maxPx`, else its longest prefix that fits with an ellipsis appended. */
export function truncateToWidth(text: string, maxPx: number, fontPx: number): string {
  if (textWidthPx(text, fontPx) <= maxPx) return text;
  const chars = [...text];
  let budget = maxPx - textWidthPx('…', fontPx);
  let n = 0;
  while (n < chars.length && budget - advanceEm(chars[n]!) * fontPx >= 0) budget -= advanceEm(chars[n++]!) * fontPx;
  return `${chars.slice(0, n).join('')}…`;
}
