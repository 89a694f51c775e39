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
