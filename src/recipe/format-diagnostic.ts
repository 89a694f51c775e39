/**
 * Renders diagnostics the way compilers do: `file:line:col`, the code, the
 * message, the source line with a caret under the offending span, then hints.
 * Pure text, so the CLI prints it and the library API hands it to callers.
 */
import type { Diagnostic } from './diagnostic.js';

export function formatDiagnostic(d: Diagnostic): string {
  const lines: string[] = [];
  const where = d.loc ? `${d.loc.file}:${d.loc.line}:${d.loc.column}: ` : '';
  lines.push(`${where}error[${d.code}]: ${d.message}`);
  if (d.loc && d.loc.sourceLine !== '') {
    const num = String(d.loc.line);
    const pad = ' '.repeat(num.length);
    const src = d.loc.sourceLine.replace(/\t/g, ' ');
    lines.push(`  ${num} | ${src}`);
    lines.push(`  ${pad} | ${' '.repeat(d.loc.column - 1)}${'^'.repeat(Math.max(1, d.loc.length))}`);
  }
  for (const h of d.hints ?? []) lines.push(`  = ${h}`);
  return lines.join('\n');
}

/** Every diagnostic, a blank line apart, then `N problem(s) in <subject>`. */
export function formatDiagnostics(ds: readonly Diagnostic[], subject: string): string {
  const body = ds.map(formatDiagnostic).join('\n\n');
  const n = ds.length;
  return `${body}\n\n${n} problem${n === 1 ? '' : 's'} in ${subject}\n`;
}
