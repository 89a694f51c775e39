/**
 * Markdown building blocks shared by every markdown modelpress writes
 * (evaluate's report.md, the run's report.md, `report --compare`).
 */

/** Markdown-safe inline text: table pipes, HTML-significant characters and line breaks. */
export function mdText(s: string): string {
  return s.replace(/[\\|<&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** A table; `align` 'r' right-aligns a column (numbers). Cells are written as given: escape them with mdText. */
export function mdTable(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string[] {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [row(head), row(sep), ...rows.map(row)];
}
