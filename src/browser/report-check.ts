/**
 * Opens a run's report.html in headless Chromium and checks what a user
 * would see: no console or page errors, no request leaving 127.0.0.1, every
 * inline SVG chart laid out with a non-zero size and its marks drawn; then
 * saves a full-page PNG screenshot. Problems are returned as values (the
 * report renders but is wrong); a missing browser throws
 * BrowserUnavailableError from launchChromium().
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { serveDirectory } from './report-server.js';

/** One `<svg role="img">` chart as laid out by the browser. */
export interface ChartCheck {
  /** 0-based position in the document. */
  index: number;
  /** The chart's `id` attribute, or null. */
  id: string | null;
  /** Its aria-label (or `<title>`): what the chart shows. */
  title: string;
  /** Rendered size in CSS pixels. */
  width: number;
  height: number;
  /** Drawn marks (circle, rect, polyline, path, polygon, ellipse) with a non-empty box. */
  marks: number;
  /** Marks present in the DOM but with an empty box (not drawn). */
  emptyMarks: number;
  /** Marks whose box lies partly outside the chart's box. */
  outsideMarks: number;
  /** Text (axis labels, point labels) partly outside the chart's box: cut off on screen. */
  clippedLabels: string[];
}

export interface ReportCheckResult {
  ok: boolean;
  /** One line each; empty when ok. */
  problems: string[];
  /** The URL the report was loaded from (the temporary 127.0.0.1 server). */
  url: string;
  /** `error: …`, `warning: …` console messages and `page error: …` uncaught exceptions. */
  consoleErrors: string[];
  /** Every request the page made, in order. */
  requests: string[];
  /** Requests to anything but the temporary server: blocked, never sent. */
  externalRequests: string[];
  /** Charts in the HTML source (`<svg` tags); each must be rendered. */
  expectedCharts: number;
  charts: ChartCheck[];
  /** Path of the PNG written, or null when none was asked for. */
  screenshot: string | null;
}

export interface ReportCheckOptions {
  /** Write a full-page PNG screenshot here. */
  screenshot?: string;
  /** Per page operation (load, evaluate, screenshot); default 30 s. */
  timeoutMs?: number;
  /** The browser executable; default chromiumPath(). */
  executable?: string;
}

/** The charts as the page lays them out. Source text, not a function: the project compiles without the DOM lib. */
const CHARTS_IN_PAGE = `(() => {
  const MARKS = 'circle, rect, polyline, path, polygon, ellipse';
  return Array.from(document.querySelectorAll('svg[role="img"]')).map((svg, index) => {
    const box = svg.getBoundingClientRect();
    let marks = 0, emptyMarks = 0, outsideMarks = 0;
    for (const m of svg.querySelectorAll(MARKS)) {
      const r = m.getBoundingClientRect();
      // A horizontal polyline has zero height, a vertical one zero width.
      if (r.width > 0 || r.height > 0) marks++; else { emptyMarks++; continue; }
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) outsideMarks++;
    }
    // Text is clipped by the svg box: a label sticking out is cut off on screen.
    const clippedLabels = [];
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)) clippedLabels.push(t.textContent || '');
    }
    const title = svg.getAttribute('aria-label') || (svg.querySelector('title') && svg.querySelector('title').textContent) || '';
    return { index, id: svg.id || null, title, width: box.width, height: box.height, marks, emptyMarks, outsideMarks, clippedLabels };
  });
})()`;

const CSP_IN_PAGE = `(() => {
  const m = document.querySelector('meta[http-equiv="Content-Security-Policy" i]');
  return m ? m.getAttribute('content') : null;
})()`;

/** Opens `reportHtmlPath` in headless Chromium, checks it, and optionally saves a screenshot. */
export async function checkReportInBrowser(reportHtmlPath: string, options: ReportCheckOptions = {}): Promise<ReportCheckResult> {
  const file = resolve(reportHtmlPath);
  const source = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${err.code ?? err.message}`);
  });
  const expectedCharts = (source.match(/<svg\b/gi) ?? []).length;
  const timeout = options.timeoutMs ?? 30_000;

  const server = await serveDirectory(dirname(file));
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const externalRequests: string[] = [];
  const problems: string[] = [];
  const url = server.urlOf(basename(file));
  let charts: ChartCheck[] = [];
  let screenshot: string | null = null;
  try {
    const browser = await launchChromium(options.executable !== undefined ? { executable: options.executable } : {});
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(timeout);
      page.on('console', (msg) => {
        const type = msg.type();
        if (type === 'error' || type === 'warning') consoleErrors.push(`${type}: ${msg.text()}`);
      });
      page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message.split('\n')[0] ?? ''}`));
      // Only the temporary server is reachable: everything else is recorded
      // and aborted here, so nothing leaves the machine.
      await page.route('**/*', (route: Route) => {
        const requested = route.request().url();
        requests.push(requested);
        if (sameOrigin(requested, server.origin)) return route.continue();
        externalRequests.push(requested);
        return route.abort('blockedbyclient');
      });
      // The report's CSP (default-src 'none') would refuse an external
      // resource before any request is made; bypassing it here lets the check
      // see what the document itself references. The CSP is checked below.
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Page.setBypassCSP', { enabled: true });

      const response = await page.goto(url, { waitUntil: 'load' });
      if (response === null || response.status() !== 200) problems.push(`report.html did not load (HTTP ${response?.status() ?? 'no response'})`);
      // Late requests (images, fonts started by CSS) settle before we look.
      await page.waitForLoadState('networkidle', { timeout: Math.min(timeout, 5_000) }).catch(() => undefined);

      charts = (await page.evaluate(CHARTS_IN_PAGE)) as ChartCheck[];
      const csp = (await page.evaluate(CSP_IN_PAGE)) as string | null;
      if (csp === null || !/default-src\s+'none'/.test(csp)) problems.push(`report.html has no Content-Security-Policy "default-src 'none'" (found: ${csp ?? 'none'})`);
      if (options.screenshot !== undefined) screenshot = await saveScreenshot(page, resolve(options.screenshot));
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
  }

  for (const c of consoleErrors) problems.push(`console ${c}`);
  for (const r of externalRequests) problems.push(`external request blocked: ${r}`);
  if (charts.length !== expectedCharts) problems.push(`${expectedCharts} chart(s) in report.html, ${charts.length} rendered`);
  for (const c of charts) {
    const name = `chart ${c.index + 1} "${c.title}"`;
    if (c.width < 1 || c.height < 1) problems.push(`${name} has an empty box (${round(c.width)}×${round(c.height)} px)`);
    if (c.marks === 0) problems.push(`${name} draws no marks`);
    if (c.emptyMarks > 0) problems.push(`${name}: ${c.emptyMarks} mark(s) with an empty box`);
    if (c.outsideMarks > 0) problems.push(`${name}: ${c.outsideMarks} mark(s) outside the chart`);
    if (c.clippedLabels.length > 0) problems.push(`${name}: ${c.clippedLabels.length} label(s) cut off at the edge (${c.clippedLabels.map((t) => JSON.stringify(t)).join(', ')})`);
  }
  return { ok: problems.length === 0, problems, url, consoleErrors, requests, externalRequests, expectedCharts, charts, screenshot };
}

/** One line for a terminal: charts and marks, errors, external requests, verdict. */
export function summarizeReportCheck(r: ReportCheckResult): string {
  const marks = r.charts.reduce((n, c) => n + c.marks, 0);
  const parts = [
    `${r.charts.length}/${r.expectedCharts} chart(s) rendered (${marks} marks)`,
    `${r.consoleErrors.length} console error(s)`,
    `${r.externalRequests.length} external request(s)`,
  ];
  return `browser check ${r.ok ? 'ok' : `FAILED (${r.problems.length} problem(s))`}: ${parts.join(', ')}${r.screenshot !== null ? `; screenshot ${r.screenshot}` : ''}`;
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Full page, written beside the target first so a reader never sees half a PNG. */
async function saveScreenshot(page: Page, target: string): Promise<string> {
  const png = await page.screenshot({ fullPage: true, type: 'png' });
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, png);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return target;
}

const round = (n: number): string => String(Math.round(n));
