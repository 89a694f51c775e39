import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '../../src/plugin.js';
import type { RunRecord } from '../../src/run/run-record.js';
import { renderRunHtml } from '../../src/report/render-html.js';
import { renderRunMarkdown } from '../../src/report/render-markdown.js';
import { encodeDeviceVerdict } from '../../src/contracts/evaluation.js';
import { judgeDevice } from '../../src/contracts/budget.js';
import { compareRuns, writeRunReports } from '../../src/report/write-reports.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';


/** An evaluate candidate as the contract encodes it; judged on phone's gzip size <= 20 KB. */
function candidate(acc: number, gzipKb: number, judged: boolean, interval: [number, number] | null = null): Json {
  const measured = {
    values: { size_kb: 50, size_gzip_kb: gzipKb, size_brotli_kb: null, size_packed_kb: null, size_tflite_kb: null, size_tflite_gzip_kb: null, latency_ms_p50: 0.3, latency_ms_p95: 1.2, accuracy_min: acc, accuracy_drop_pp: 97 - acc, agreement_min: null },
    notes: {},
    ...(interval ? { intervals: { latency_ms_p95: interval } } : {}),
  };
  return {
    stage: 'x', matrix: {}, reference: !judged, judged, accuracy: acc, accuracyDropPp: 97 - acc,
    sizeBytes: { raw: 51200, gzip: gzipKb * 1024, brotli: gzipKb * 1000, packed: gzipKb * 1100 },
    sizeKb: { raw: 50, gzip: gzipKb, brotli: gzipKb * 1000 / 1024, packed: gzipKb * 1100 / 1024 },
    params: 1000, nonZeros: 500, sparsity: 0.5, macs: 900, effectiveMacs: 450, macsComplete: true,
    latency: {
      phone: {
        measured: true, runtime: 'wasm', backendActual: 'wasm', threadsRequested: 1, threadsActual: 1, batch: 1, p50Ms: 0.3, p95Ms: 1.2, runs: 100,
        spread: 4, stable: true, stopReason: 'stable', pid: 1, notes: [], p50IntervalMs: null, p95IntervalMs: interval,
      },
    },
    devices: { phone: encodeDeviceVerdict(judgeDevice({ size_gzip_kb: 20, ...(interval ? { latency_ms_p95: 1.25 } : {}) }, measured)) },
  };
}

const WEIRD = 'p<&>"x';

function record(opts: { pruneAcc?: number; unstable?: boolean } = {}): RunRecord {
  return fakeRunRecord('demo', [
      fakeNode('train', 'train', { accuracy: 97 }, { status: 'cached', cacheHit: true, durationMs: 20 }),
      fakeNode('prune[sparsity=0.5]', 'prune', { accuracy: opts.pruneAcc ?? 96, accuracyBefore: 97, sparsity: 0.5 }),
      fakeNode(WEIRD, 'prune', { accuracy: 90, accuracyBefore: 97, sparsity: 0.9 }),
      fakeNode('prune[sparsity=0.7]', 'prune', { accuracy: 85, accuracyBefore: 97, sparsity: 0.7 }),
      fakeNode('eval', 'evaluate', {
        data: 'test', examples: 100, reference: 'train', referenceAccuracy: 97,
        devices: { phone: { runtime: 'wasm', threads: 1, batch: 1, budget: { size_gzip_kb: 20 } } },
        candidates: {
          train: candidate(97, 40, false),
          'prune[sparsity=0.5]': candidate(opts.pruneAcc ?? 96, 25, true),
          [WEIRD]: candidate(90, 8, true),
          'prune[sparsity=0.7]': candidate(85, 12, true), // dominated by WEIRD
          ...(opts.unstable ? { noisy: candidate(84, 11, true, [1.1, 1.3]) } : {}),
        },
        budgets: { met: true, best: WEIRD, passing: [WEIRD, 'prune[sparsity=0.7]'], closest: null, unmeasured: [], message: `met: best ${WEIRD}` },
      }),
  ], { backend: 'cpu' });
}

describe('run reports', () => {
  test('markdown: header, stage table rows, verdict rows', () => {
    const md = renderRunMarkdown(record());
    expect(md).toContain('# Run report: demo');
    expect(md).toContain('- status: **succeeded**');
    expect(md).toContain('| train | train | cached | yes | 20 ms | accuracy 97% |');
    expect(md).toContain('| prune[sparsity=0.5] | prune | ran | no | 1.5 s | accuracy 97% → 96%, sparsity 50% |');
    expect(md).toContain('| eval | evaluate | ran | no | 1.5 s | 4 candidates, budgets met (best p\\<\\&>"x) |');
    expect(md).toContain('| prune[sparsity=0.5] | phone | size_gzip_kb | 25 KB | <= 20 KB | missed | +5 KB over |');
    expect(md).toContain('| prune[sparsity=0.7] | phone | size_gzip_kb | 12 KB | <= 20 KB | ok | 8 KB under |');
    expect(md).not.toContain('### Per layer');
  });

  test('html: self-contained, balanced svg, one point per candidate, the front, escaped text', () => {
    const html = renderRunHtml(record());
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|<img|url\(/i);
    const opens = html.match(/<svg\b/g) ?? [];
    expect(opens.length).toBe(2); // stages chart + Pareto
    expect((html.match(/<\/svg>/g) ?? []).length).toBe(opens.length);
    for (const svg of html.match(/<svg\b[\s\S]*?<\/svg>/g)!) {
      expect(svg).toMatch(/^<svg role="img" aria-label="[^"]+"[^>]*><title>/);
      expect((svg.match(/<circle\b/g) ?? []).length).toBe((svg.match(/<\/circle>/g) ?? []).length);
    }
    const pareto = html.match(/<svg\b[^>]*aria-label="Pareto[\s\S]*?<\/svg>/)![0];
    expect((pareto.match(/<circle class="candidate/g) ?? []).length).toBe(4);
    expect((pareto.match(/<circle class="candidate front"/g) ?? []).length).toBe(3);
    expect(pareto).toMatch(/<polyline class="pareto-front"[^>]* points="[\d., ]+"/);
    expect(pareto).toContain('packed size (KB, log scale)');
    // The node id with <&>" never appears raw.
    expect(html).not.toContain(WEIRD);
    expect(html).toContain('p&lt;&amp;&gt;&quot;x');
  });

  test('an unstable verdict is shown as unstable, in markdown and html', () => {
    const md = renderRunMarkdown(record({ unstable: true }));
    expect(md).toContain('| noisy | phone | latency_ms_p95 | 1.2 ms | <= 1.25 ms | unstable | unstable: 95% interval 1.1-1.3 ms contains the limit 1.25 ms |');
    expect(md).toContain('| noisy | 0.3 | 1.2 | 1.1-1.3 | 100 | 4 | unstable: latency_ms_p95 |');
    expect(renderRunHtml(record({ unstable: true }))).toContain('<td class="unstable">unstable</td>');
  });

  test('evaluate metrics that do not decode: the section says why instead of guessing', () => {
    const r = record();
    (r.nodes[4]!.metrics['candidates'] as Record<string, Record<string, Json>>)['train']!['accuracy'] = 'high';
    const md = renderRunMarkdown(r);
    expect(md).toContain('Not shown: metrics of eval.candidates.train.accuracy: Expected a number, got "high"');
    expect(md).toContain('| eval | evaluate | ran | no | 1.5 s | evaluation unreadable |');
    expect(renderRunHtml(r)).toContain('Not shown: metrics of eval.candidates.train.accuracy: Expected a number, got &quot;high&quot;');
    // A plugin stage with `candidates` of its own is not mistaken for an evaluation.
    r.nodes[4]!.uses = 'example/weight-report';
    expect(renderRunMarkdown(r)).not.toContain('Evaluate: eval');
  });

  test('compare shows status, key and a changed metric', () => {
    const a = record();
    const b = record({ pruneAcc: 93.5 });
    b.nodes[1]!.key = 'k-other';
    b.nodes[1]!.reasons = ['config.sparsity: 0.4 -> 0.5'];
    const md = compareRuns(a, b);
    expect(md).toContain('| prune[sparsity=0.5] | ran | ran | changed | 1.5 s | 1.5 s | 1 |');
    expect(md).toContain('| accuracy | 96 | 93.5 | -2.5 |');
    expect(md).toContain('why B ran: config.sparsity: 0.4 -> 0.5');
    expect(md).toContain('| candidates.prune[sparsity=0.5].accuracy | 96 | 93.5 | -2.5 |');
    expect(md).toContain('| train | cached | cached | same | 20 ms | 20 ms | 0 |');
    expect(compareRuns(a, a)).toContain('No metric differs.');
  });

  test('writeRunReports writes report.md and report.html', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mp-report-'));
    try {
      const out = await writeRunReports(dir, record());
      expect(out).toEqual({ md: join(dir, 'report.md'), html: join(dir, 'report.html') });
      expect(await readFile(out.md, 'utf8')).toContain('## Stages');
      expect(await readFile(out.html, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
