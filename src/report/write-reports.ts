/**
 * Writes report.md and report.html next to run.json, and compares two runs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json } from '../plugin.js';
import type { RunRecord, RunRecordNode } from '../run/run-record.js';
import { mdText } from '../contracts/markdown.js';
import { renderRunMarkdown } from './render-markdown.js';
import { renderRunHtml } from './render-html.js';
import type { LayerSupplement } from './run-view.js';
import { fmt, fmtDuration } from './run-view.js';
import { decodeReportLayers, looksLikeEvaluation } from '../contracts/evaluation.js';

/** Per-layer rows of each evaluate node, from its `report/report.json` in the cache, when still there. */
export async function loadLayerSupplement(record: RunRecord): Promise<LayerSupplement> {
  const out: LayerSupplement = {};
  for (const node of record.nodes) {
    if (!looksLikeEvaluation(node.metrics)) continue;
    const dir = node.outputs['report']?.path;
    if (dir === undefined) continue;
    let report: Json;
    try {
      report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Json;
    } catch {
      continue; // evicted from the cache, or never written: the per-layer table is skipped
    }
    const layers = decodeReportLayers(report, join(dir, 'report.json'));
    if (layers.ok) out[node.id] = layers.value;
  }
  return out;
}

/** Renders and writes `report.md` and `report.html` into `runDir`; returns their paths. */
export async function writeRunReports(runDir: string, record: RunRecord): Promise<{ md: string; html: string }> {
  const layers = await loadLayerSupplement(record);
  const md = join(runDir, 'report.md');
  const html = join(runDir, 'report.html');
  await writeFile(md, renderRunMarkdown(record, { layers }));
  await writeFile(html, renderRunHtml(record, { layers }));
  return { md, html };
}

/** Leaves of a JSON value by path (`a.b[2].c`). */
function flatten(j: Json, prefix: string, out: Map<string, Json>): void {
  if (Array.isArray(j)) {
    if (j.length === 0) out.set(prefix, j);
    j.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (j !== null && typeof j === 'object') {
    const entries = Object.entries(j);
    if (entries.length === 0) out.set(prefix, j);
    for (const [k, v] of entries) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else out.set(prefix, j);
}

function show(j: Json | undefined): string {
  if (j === undefined) return '(absent)';
  if (typeof j === 'number') return fmt(j);
  return typeof j === 'string' ? j : JSON.stringify(j);
}

/** Metric paths whose values differ between two nodes: [path, a, b]. */
export function metricDiffs(a: Record<string, Json>, b: Record<string, Json>): [string, Json | undefined, Json | undefined][] {
  const fa = new Map<string, Json>();
  const fb = new Map<string, Json>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const paths = [...new Set([...fa.keys(), ...fb.keys()])];
  const out: [string, Json | undefined, Json | undefined][] = [];
  for (const p of paths) {
    const va = fa.get(p);
    const vb = fb.get(p);
    if (JSON.stringify(va) !== JSON.stringify(vb)) out.push([p, va, vb]);
  }
  return out;
}

const MAX_METRIC_ROWS = 40;

/** Markdown of the differences between two runs: header, then per node status, key and differing metrics. */
export function compareRuns(a: RunRecord, b: RunRecord): string {
  const out: string[] = [`# Run comparison: ${mdText(a.recipe.name)} vs ${mdText(b.recipe.name)}`, ''];
  const head: [string, string, string][] = [
    ['recipe', a.recipe.file, b.recipe.file],
    ['status', a.status, b.status],
    ['started', a.startedAt, b.startedAt],
    ['duration', fmtDuration(a.durationMs), fmtDuration(b.durationMs)],
    ['modelpress', a.versions.modelpress, b.versions.modelpress],
    ['node', a.versions.node, b.versions.node],
    ['tfjs', a.versions.tfjs ?? 'none', b.versions.tfjs ?? 'none'],
    ['backend', a.versions.backend, b.versions.backend],
    ['overrides', a.recipe.overrides.join(', '), b.recipe.overrides.join(', ')],
  ];
  out.push('| | A | B |', '| --- | --- | --- |');
  for (const [k, va, vb] of head) out.push(`| ${k}${va === vb ? '' : ' (changed)'} | ${mdText(va)} | ${mdText(vb)} |`);
  out.push('');

  const byId = (r: RunRecord): Map<string, RunRecordNode> => new Map(r.nodes.map((n) => [n.id, n]));
  const na = byId(a);
  const nb = byId(b);
  const ids = [...na.keys(), ...[...nb.keys()].filter((id) => !na.has(id))];
  out.push('## Nodes', '', '| node | status A | status B | key | duration A | duration B | metrics differing |', '| --- | --- | --- | --- | ---: | ---: | ---: |');
  const details: string[] = [];
  for (const id of ids) {
    const x = na.get(id);
    const y = nb.get(id);
    if (x === undefined || y === undefined) {
      out.push(`| ${mdText(id)} | ${x ? mdText(x.status) : '(absent)'} | ${y ? mdText(y.status) : '(absent)'} | only in ${x ? 'A' : 'B'} | ${x ? fmtDuration(x.durationMs) : '–'} | ${y ? fmtDuration(y.durationMs) : '–'} | – |`);
      continue;
    }
    const key = x.key === y.key ? 'same' : 'changed';
    const diffs = metricDiffs(x.metrics, y.metrics);
    out.push(`| ${mdText(id)} | ${mdText(x.status)} | ${mdText(y.status)} | ${key} | ${fmtDuration(x.durationMs)} | ${fmtDuration(y.durationMs)} | ${diffs.length} |`);
    if (diffs.length > 0 || key === 'changed') {
      details.push(`### ${mdText(id)}`, '');
      if (key === 'changed') {
        details.push(`key: ${mdText(x.key ?? 'none')} -> ${mdText(y.key ?? 'none')}`);
        if (y.reasons.length > 0) details.push(`why B ran: ${y.reasons.map(mdText).join('; ')}`);
        details.push('');
      }
      if (diffs.length > 0) {
        details.push('| metric | A | B | Δ |', '| --- | ---: | ---: | ---: |');
        for (const [p, va, vb] of diffs.slice(0, MAX_METRIC_ROWS)) {
          const delta = typeof va === 'number' && typeof vb === 'number' ? `${vb - va > 0 ? '+' : ''}${fmt(vb - va)}` : '';
          details.push(`| ${mdText(p)} | ${mdText(show(va))} | ${mdText(show(vb))} | ${delta} |`);
        }
        if (diffs.length > MAX_METRIC_ROWS) details.push('', `… and ${diffs.length - MAX_METRIC_ROWS} more`);
        details.push('');
      }
    }
  }
  out.push('');
  if (details.length > 0) out.push('## Differences', '', ...details);
  else out.push('No metric differs.', '');
  return `${out.join('\n').trimEnd()}\n`;
}
