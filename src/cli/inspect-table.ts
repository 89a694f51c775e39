/**
 * The human rendering of a ModelReport for `modelpress inspect`: aligned
 * columns, numbers with thousands separators, sizes in KB (1024 bytes, the
 * unit of `size_kb` budgets). Pure: returns the text, the command prints it.
 *
 * Sections, in order: what the model is, the layer table (one row per layer
 * in graph order, a yes/no column per built-in stage), why each stage leaves
 * a weighted layer alone, the names to use in `layers:` patterns, the files,
 * and one summary line. Layers without weights get no "why not" line (no
 * stage has anything to do there); `--json` has every reason.
 */
import type { Shape } from '../measure/keras-topology.js';
import { kb } from '../measure/size.js';
import type { LayerReport, ModelReport, StageCheck } from '../inspect/model-report.js';

const INTEGER = new Intl.NumberFormat('en-US');
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function formatInt(n: number): string {
  return INTEGER.format(n);
}

/** Bytes as KB with one decimal: `1,234.5 KB`. */
export function formatKb(bytes: number): string {
  return `${ONE_DECIMAL.format(kb(bytes))} KB`;
}

export function formatShape(shape: Shape | null): string {
  return shape === null ? '?' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

function yesNo(c: StageCheck | undefined): string {
  return c === undefined || c.applies === null ? '?' : c.applies ? 'yes' : 'no';
}

/** Columns padded to their widest cell; `right` marks numeric columns. Trailing spaces trimmed. */
export function alignColumns(rows: readonly string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function storageOf(layer: LayerReport): string {
  const kinds = [...new Set(layer.weights.map((w) => w.storage))];
  return kinds.length === 0 ? '-' : kinds.join(', ');
}

function endpoints(list: ModelReport['inputs']): string {
  return list.map((e) => `${e.name} ${formatShape(e.shape)}`).join(', ') || '(none)';
}

/** MACs per example; unknown ones show their per-step figure when the measure layer has it. */
function macsCell(l: ModelReport['layers'][number]): string {
  if (l.macs !== null) return formatInt(l.macs);
  return l.macsPerStep !== undefined ? `? (${formatInt(l.macsPerStep)}/step)` : '?';
}

export function renderInspectTable(report: ModelReport): string {
  const out: string[] = [];
  out.push(`model: ${report.path} (${report.format}, ${report.topology})`);
  out.push(`inputs: ${endpoints(report.inputs)}`);
  out.push(`outputs: ${endpoints(report.outputs)}`);
  out.push('');

  // Inbound layers matter where the graph is not a chain.
  const functional = report.topology !== 'Sequential';
  const header = ['#', 'layer', 'class', 'output', ...(functional ? ['inputs'] : []), 'params', 'non-zeros', 'weights', 'MACs', ...report.stages.map((s) => s.label)];
  const first = functional ? 5 : 4;
  const rows = report.layers.map((l, i) => [
    String(i + 1),
    l.name,
    l.className,
    formatShape(l.outputShape),
    ...(functional ? [l.inbound.join(',') || '-'] : []),
    formatInt(l.params),
    formatInt(l.nonZeros),
    storageOf(l),
    macsCell(l),
    ...report.stages.map((s) => yesNo(l.stages[s.id])),
  ]);
  out.push(...alignColumns([header, ...rows], new Set([0, first, first + 1, first + 3])));

  out.push('');
  if (report.stagesUnknown !== undefined) {
    out.push(`stages: unknown (${report.stagesUnknown})`);
  } else {
    out.push('why not (each stage with its defaults, no `layers:`):');
    const why: string[][] = [];
    for (const l of report.layers) {
      if (l.weights.length === 0) continue;
      for (const s of report.stages) {
        const c = l.stages[s.id];
        if (c && c.applies !== true) why.push([`  ${l.name}`, `${s.label}: ${c.reason ?? 'unknown'}`]);
      }
    }
    out.push(...(why.length > 0 ? alignColumns(why) : ['  (every stage acts on every layer with weights)']));
  }

  out.push('');
  out.push('names for `layers:` / `exclude:` patterns:');
  const names = report.stages.map((s) => [`  ${s.label}:`, report.layers.filter((l) => l.stages[s.id]?.applies === true).map((l) => l.name).join(', ') || '(none)']);
  names.push(['  all layers:', report.layers.map((l) => l.name).join(', ')]);
  out.push(...alignColumns(names));

  out.push('');
  const fileRows = report.files.map((f) => [f.name, formatKb(f.raw), formatKb(f.gzip), formatKb(f.brotli)]);
  out.push(...alignColumns([['file', 'raw', 'gzip', 'brotli'], ...fileRows, ['total', formatKb(report.size.raw), formatKb(report.size.gzip), formatKb(report.size.brotli)]], new Set([1, 2, 3])));

  // Layers counted per step only (an unknown sequence length): say why once.
  const notes = [...new Set(report.layers.map((l) => l.macsNote).filter((n): n is string => n !== undefined))];
  if (notes.length > 0) {
    out.push('');
    for (const note of notes) out.push(`MACs ? (n/step): ${note}`);
  }

  out.push('');
  const s = report.summary;
  const macs = `${formatInt(s.macs)}${s.macsComplete ? '' : '+ (some layers unknown)'} MACs`;
  out.push(
    `${formatInt(s.layers)} layers, ${formatInt(s.params)} params, ${formatInt(s.nonZeros)} non-zeros (${(100 * s.sparsity).toFixed(1)}% sparse), ${macs}, ` +
      `${formatKb(report.size.raw)} raw / ${formatKb(report.size.gzip)} gzip / ${formatKb(report.size.brotli)} brotli`,
  );
  return `${out.join('\n')}\n`;
}
