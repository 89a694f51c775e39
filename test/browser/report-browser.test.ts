/**
 * report.html in real headless Chromium: a report written by writeRunReports
 * renders its charts with no errors and no external requests, and the check
 * catches what would break that (an external image, a script error, a chart
 * laid out with no size).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../../src/browser/chromium.js';
import { checkReportInBrowser } from '../../src/browser/report-check.js';
import type { Json } from '../../src/plugin.js';
import { writeRunReports } from '../../src/report/write-reports.js';
import { judgeDevice } from '../../src/contracts/budget.js';
import { encodeDeviceVerdict } from '../../src/contracts/evaluation.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';
import type { RunRecord } from '../../src/run/run-record.js';
import { describeWithBrowser } from '../helpers/browser.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);


/** An evaluate candidate as the evaluation contract encodes it; judged on web's gzip size <= 20 KB. `kb` overrides each size (KB). */
function candidate(acc: number, gzipKb: number, reference: boolean, kb: { raw: number; gzip: number; brotli: number; packed: number } = { raw: 50, gzip: gzipKb, brotli: (gzipKb * 1000) / 1024, packed: (gzipKb * 900) / 1024 }): Json {
  const measured = {
    values: { size_kb: kb.raw, size_gzip_kb: gzipKb, size_brotli_kb: kb.brotli, size_packed_kb: kb.packed, size_tflite_kb: null, size_tflite_gzip_kb: null, latency_ms_p50: 0.3, latency_ms_p95: 1.2, accuracy_min: acc, accuracy_drop_pp: 97 - acc, agreement_min: null },
    notes: {},
  };
  return {
    stage: 'x', matrix: {}, reference, judged: !reference, accuracy: acc, accuracyDropPp: 97 - acc,
    sizeBytes: { raw: kb.raw * 1024, gzip: kb.gzip * 1024, brotli: kb.brotli * 1024, packed: kb.packed * 1024 },
    sizeKb: kb,
    params: 1000, nonZeros: 500, sparsity: 0.5, macs: 900, effectiveMacs: 450, macsComplete: true,
    latency: {
      web: {
        measured: true, runtime: 'browser', backend: 'wasm', backendActual: 'wasm', threadsRequested: 1, threadsActual: 1, batch: 1,
        p50Ms: 0.3, p95Ms: 1.2, runs: 100, spread: 4, stable: true, stopReason: 'stable', browserVersion: '120', notes: [], p50IntervalMs: null, p95IntervalMs: null,
      },
    },
    devices: { web: encodeDeviceVerdict(judgeDevice({ size_gzip_kb: 20 }, measured)) },
  };
}

/** The evaluate node's head: data, reference, devices (what the contract requires besides candidates and budgets). */
const evalHead = (referenceAccuracy: number): Record<string, Json> => ({
  data: 'test', examples: 100, reference: 'train', referenceAccuracy,
  devices: { web: { runtime: 'browser', backend: 'wasm', threads: 1, batch: 1, budget: { size_gzip_kb: 20 } } },
});

/** A train -> prune sweep -> evaluate run, shaped like run.json: gives both charts (stages and Pareto). */
function runRecord(): RunRecord {
  return fakeRunRecord('browser-demo', [
      fakeNode('train', 'train', { accuracy: 97 }),
      fakeNode('prune[sparsity=0.5]', 'prune', { accuracy: 96, accuracyBefore: 97, sparsity: 0.5 }),
      fakeNode('prune[sparsity=0.9]', 'prune', { accuracy: 90, accuracyBefore: 97, sparsity: 0.9 }),
      fakeNode('eval', 'evaluate', {
        ...evalHead(97),
        // The largest candidate has a long id: its label must not run off the chart's right edge.
        candidates: { train: candidate(97, 40, true), 'prune[sparsity=0.5]': candidate(96, 45, false), 'prune[sparsity=0.9]': candidate(90, 8, false) },
        budgets: { met: true, best: 'prune[sparsity=0.9]', passing: ['prune[sparsity=0.9]'], closest: null, unmeasured: [], message: 'met: best prune[sparsity=0.9]' },
      }),
  ]);
}

/**
 * Shaped like a real train -> quantize sweep -> evaluate run (browser-latency):
 * long rotated stage labels, two candidates with long ids at the same accuracy
 * (labels side by side), and a Pareto front of a single point.
 */
function longNamesRecord(): RunRecord {
  const sized = (acc: number, packed: number, reference: boolean): Json =>
    candidate(acc, packed, reference, { raw: packed * 1.1, gzip: packed * 0.95, brotli: packed * 0.9, packed });
  const base = runRecord();
  return {
    ...base,
    recipe: { ...base.recipe, name: 'browser-latency' },
    nodes: [
      fakeNode('train', 'train', { accuracy: 96.04 }),
      fakeNode('quantize[weights=uint8]', 'quantize', { compression: 4 }),
      fakeNode('quantize[weights=float16]', 'quantize', { compression: 2 }),
      fakeNode('eval', 'evaluate', {
        ...evalHead(96.04),
        candidates: { train: sized(96.04, 1043.08, true), 'quantize[weights=uint8]': sized(96.04, 232.59, false), 'quantize[weights=float16]': sized(96.04, 522.57, false) },
        budgets: { met: true, best: 'quantize[weights=uint8]', passing: ['quantize[weights=uint8]'], closest: null, unmeasured: [], message: 'met' },
      }),
    ],
  };
}

/** Boxes of every <text> of the Pareto charts, as laid out: pairs that intersect are labels drawn over each other. */
const OVERLAPPING_TEXT_IN_PAGE = `(() => Array.from(document.querySelectorAll('svg[aria-label^="Pareto"]')).flatMap((svg) => {
  const boxes = Array.from(svg.querySelectorAll('text')).map((t) => ({ text: t.textContent, r: t.getBoundingClientRect() })).filter((b) => b.r.width > 0);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].r, b = boxes[j].r;
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(boxes[i].text + ' / ' + boxes[j].text);
  }
  return out;
}))()`;

let root: string;
let runDir: string;
let html: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mp-report-browser-'));
  runDir = join(root, 'run');
  await mkdir(runDir);
  html = (await writeRunReports(runDir, runRecord())).html;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the good report with `extra` inserted before </body>, in a run directory of its own. */
async function variant(name: string, extra: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const file = join(dir, 'report.html');
  await writeFile(file, (await readFile(html, 'utf8')).replace('</body>', `${extra}\n</body>`));
  return file;
}

describeWithBrowser('report.html in headless Chromium', () => {
  test('a real report: charts drawn with marks, no errors, no external requests, report.png written', async () => {
    const png = join(runDir, 'report.png');
    const r = await checkReportInBrowser(html, { screenshot: png });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.consoleErrors).toEqual([]);
    expect(r.externalRequests).toEqual([]);
    expect(r.requests).toEqual([r.url]); // the page itself, nothing else
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/report\.html$/);
    expect(r.expectedCharts).toBe(2);
    expect(r.charts.map((c) => c.title)).toEqual([
      'Size and accuracy through the stages of browser-demo',
      'Pareto front of eval: packed size vs accuracy of 3 candidates',
    ]);
    // Stages: 3 nodes × 4 size kinds as squares + 4 polylines, 3 accuracy circles + 1 polyline.
    expect(r.charts[0]!.marks).toBe(3 * 4 + 4 + 3 + 1);
    // Pareto: 3 candidate circles + the front polyline.
    expect(r.charts[1]!.marks).toBe(4);
    for (const c of r.charts) {
      expect(c.width).toBeGreaterThan(100);
      expect(c.height).toBeGreaterThan(100);
      expect(c).toMatchObject({ emptyMarks: 0, outsideMarks: 0, clippedLabels: [] });
    }
    expect(r.screenshot).toBe(png);
    const bytes = await readFile(png);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect((await stat(png)).size).toBeGreaterThan(20_000);
  });

  test('long candidate names: rotated labels fit, no empty marks, point labels do not overlap', async () => {
    const dir = join(root, 'long-names');
    await mkdir(dir);
    const file = (await writeRunReports(dir, longNamesRecord())).html;
    const r = await checkReportInBrowser(file);
    expect(r.problems).toEqual([]);
    expect(r.charts).toHaveLength(2);
    for (const c of r.charts) expect(c).toMatchObject({ emptyMarks: 0, outsideMarks: 0, clippedLabels: [] });
    // Pareto only: the stages chart's rotated labels have axis-aligned boxes that overlap while their glyphs do not.
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.setContent(await readFile(file, 'utf8'));
      const overlaps = (await page.evaluate(OVERLAPPING_TEXT_IN_PAGE)) as string[];
      expect(overlaps).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  test('an external resource is recorded and blocked: the request never leaves', async () => {
    // A server standing in for "the internet": `localhost` is not the check's 127.0.0.1 origin.
    let hits = 0;
    const outside = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'image/png' }).end();
    });
    await new Promise<void>((ok) => outside.listen(0, '127.0.0.1', () => ok()));
    const port = (outside.address() as AddressInfo).port;
    try {
      const file = await variant('external', `<img src="http://example.com/x.png"><img src="http://localhost:${port}/y.png">`);
      const r = await checkReportInBrowser(file);
      expect(r.ok).toBe(false);
      expect(r.externalRequests).toEqual(expect.arrayContaining(['http://example.com/x.png', `http://localhost:${port}/y.png`]));
      expect(r.problems).toContain('external request blocked: http://example.com/x.png');
      expect(hits).toBe(0);
      expect(r.screenshot).toBeNull();
    } finally {
      outside.closeAllConnections();
      await new Promise<void>((ok) => outside.close(() => ok()));
    }
  });

  test('a script error is reported as a page error', async () => {
    const file = await variant('script-error', `<script>throw new Error('boom in the report');</script><script>console.error('logged failure')</script>`);
    const r = await checkReportInBrowser(file);
    expect(r.ok).toBe(false);
    expect(r.consoleErrors).toEqual(expect.arrayContaining(['page error: boom in the report', 'error: logged failure']));
    expect(r.problems).toContain('console page error: boom in the report');
    expect(r.charts).toHaveLength(2); // the charts still render: only the errors fail the check
  });

  test('charts that are not laid out are problems', async () => {
    const file = await variant('hidden-charts', '<style>svg{display:none}</style>');
    const r = await checkReportInBrowser(file);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        'chart 1 "Size and accuracy through the stages of browser-demo" has an empty box (0×0 px)',
        'chart 2 "Pareto front of eval: packed size vs accuracy of 3 candidates" draws no marks',
      ]),
    );
  });
});
