/**
 * How the numbers of the evaluation contract are written for people, in one
 * place, so evaluate's report.md, the budget messages, select's summary, the
 * run report (markdown and HTML) and the CLI say the same number the same way.
 *
 * - Accuracy and accuracy drops are in hundredths: `98.30%`, `-0.12 pp`. A
 *   drop budget of 0.5 pp is judged on differences of a few test examples
 *   (0.01 pp on 10,000), and three significant digits hid them (98.3 vs 98.34).
 * - Sizes are in the budget's unit (KB = 1024 bytes) with three significant digits.
 * - Everything else: three significant digits, no exponent, no trailing zeros.
 */

/** Numbers with 3 significant digits, no exponent, no trailing zeros: 31, 0.912, 1234. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return String(Math.round(n));
  if (a === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(a)));
  return String(Number(n.toFixed(Math.min(digits, 6))));
}

/** Hundredths, always two decimals, no negative zero: 98.3 -> `98.30`. */
export function fmtHundredths(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = n.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** An accuracy in percent: `98.30%`. */
export function fmtPercent(accuracy: number): string {
  return `${fmtHundredths(accuracy)}%`;
}

/** A signed difference in percentage points: `+0.25 pp`, `-1.20 pp`, `±0.00 pp`. */
export function fmtSignedPp(pp: number): string {
  const h = fmtHundredths(pp);
  if (h === '0.00') return '±0.00 pp';
  return `${pp > 0 ? '+' : ''}${h} pp`;
}

/** Bytes in the budgets' unit: `31.2 KB` (KB = 1024 bytes). */
export function fmtKb(bytes: number): string {
  return `${fmt(bytes / 1024)} KB`;
}
