/**
 * report.md: the human summary of a run (docs/reports.md). A pure function of
 * the run record (plus, optionally, per-layer data read from evaluate's
 * report.json by writeRunReports).
 */
import type { RunRecord } from '../run/run-record.js';
import type { EvaluateView, LayerSupplement } from './run-view.js';
import { evaluateViews, fmtDuration, keyMetrics } from './run-view.js';
import type { LayerStats } from '../contracts/evaluation.js';
import { renderEvaluationMarkdown } from '../contracts/evaluation-markdown.js';
import { mdTable, mdText } from '../contracts/markdown.js';
import { decodeSensitivity, renderSensitivityMarkdown } from '../contracts/sensitivity.js';
import type { Json } from '../plugin.js';
import { autoChartView } from './auto-chart.js';
import type { AutoChartView } from './auto-chart.js';

export interface RenderOptions {
  /** Per-layer rows found outside run.json (evaluate's report.json). */
  layers?: LayerSupplement;
}

function table(head: string[], rows: string[][], align?: ('l' | 'r')[]): string[] {
  return mdTable(head, rows, align);
}

/** An evaluate node's section: the one evaluation renderer, one heading level down. */
function evaluateSection(v: EvaluateView): string[] {
  if (v.evaluation === null) return [`## Evaluate: ${mdText(v.node)}`, '', `Not shown: ${mdText(v.error ?? 'unreadable metrics')}`, ''];
  const layers: Record<string, LayerStats[]> = {};
  for (const c of v.candidates) if (c.layers) layers[c.id] = c.layers;
  return [renderEvaluationMarkdown(v.evaluation, { title: `Evaluate: ${v.node}`, level: 2, layers }).trimEnd(), ''];
}

const KIND_TEXT: Record<AutoChartView['trials'][number]['kind'], string> = { search: 'search', uniform: 'uniform baseline', random: 'random search' };

/** An auto node's trials, the chosen one marked: the Pareto chart of report.html as a table. */
function autoSection(v: AutoChartView): string[] {
  if (v.trials.length === 0) return [];
  const latency = v.trials.some((t) => t.p95Ms !== null);
  const ms = (x: number | null): string => (x === null ? '' : x.toFixed(3));
  return [
    `## Auto search: ${mdText(v.node)}`,
    '',
    'Every trial, fine-tuned and measured; accuracy on the calibration split the search judged on.',
    '',
    ...table(
      ['trial', 'found by', 'calibration accuracy', 'packed KB', ...(latency ? ['p50 ms', 'p95 ms'] : []), 'meets every budget', 'chosen'],
      v.trials.map((t) => [
        String(t.trial),
        KIND_TEXT[t.kind],
        `${t.accuracy.toFixed(2)}%`,
        (t.packedBytes / 1024).toFixed(1),
        ...(latency ? [ms(t.p50Ms), ms(t.p95Ms)] : []),
        t.meets ? 'yes' : 'no',
        t.trial === v.best ? '**yes**' : '',
      ]),
      ['r', 'l', 'r', 'r', ...(latency ? (['r', 'r'] as const) : []), 'l', 'l'],
    ),
    '',
  ];
}

/** The sensitivity tables and auto searches, in node order (render-html.ts draws them as charts). */
function searchSections(record: RunRecord): string[] {
  const out: string[] = [];
  for (const n of record.nodes) {
    if (n.uses === 'sensitivity' && n.status !== 'failed') {
      const d = decodeSensitivity(n.metrics as Json, `${n.id} metrics`);
      out.push(`## Sensitivity: ${mdText(n.id)}`, '', d.ok ? renderSensitivityMarkdown(d.value).trimEnd() : `Not shown: ${mdText(d.error)}`, '');
    } else if (n.uses === 'auto') {
      const view = autoChartView(n.id, n.metrics);
      if (view) out.push(...autoSection(view));
    }
  }
  return out;
}

export function renderRunMarkdown(record: RunRecord, options: RenderOptions = {}): string {
  const out: string[] = [];
  const v = record.versions;
  out.push(`# Run report: ${mdText(record.recipe.name)}`, '');
  out.push(
    `- status: **${mdText(record.status)}**`,
    `- recipe: ${mdText(record.recipe.file)}${record.recipe.overrides.length > 0 ? ` (overrides: ${record.recipe.overrides.map(mdText).join(', ')})` : ''}`,
    `- started ${mdText(record.startedAt)}, finished ${mdText(record.finishedAt)}, duration ${fmtDuration(record.durationMs)}`,
    `- versions: modelpress ${mdText(v.modelpress)}, node ${mdText(v.node)}, tfjs ${mdText(v.tfjs ?? 'none')}, backend ${mdText(v.backend)}`,
    `- jobs: ${record.jobs}`,
    '',
  );

  const evals = evaluateViews(record, options.layers);
  for (const e of evals) {
    if (e.budgets?.message) out.push(`> budget (${mdText(e.node)}): ${e.budgets.met ? 'met' : 'MISSED'}: ${mdText(e.budgets.message)}`, '');
  }

  out.push('## Stages', '');
  out.push(
    ...table(
      ['node', 'uses', 'status', 'cache hit', 'duration', 'key metrics'],
      record.nodes.map((n) => [
        mdText(n.id),
        mdText(n.uses),
        mdText(n.status),
        n.cacheHit ? 'yes' : 'no',
        fmtDuration(n.durationMs),
        mdText(keyMetrics(n) || (n.error ? `error (${n.error.phase}): ${n.error.message}` : '')),
      ]),
      ['l', 'l', 'l', 'l', 'r', 'l'],
    ),
    '',
  );

  const failed = record.nodes.filter((n) => n.error !== null);
  if (failed.length > 0) {
    out.push('## Errors', '');
    for (const n of failed) out.push(`- ${mdText(n.id)} (${mdText(n.error!.phase)}): ${mdText(n.error!.message)}`);
    out.push('');
  }

  for (const e of evals) out.push(...evaluateSection(e));
  out.push(...searchSections(record));

  const artifacts = Object.entries(record.artifacts);
  if (artifacts.length > 0) {
    out.push('## Artifacts', '');
    for (const [node, outs] of artifacts) {
      for (const [name, path] of Object.entries(outs)) out.push(`- ${mdText(node)} / ${mdText(name)}: ${mdText(path)}`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
