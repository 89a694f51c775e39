/**
 * `modelpress report <run-dir>`: re-render report.md and report.html from a
 * run's run.json; `--compare <other-run-dir>` prints what differs;
 * `--screenshot` also opens report.html in headless Chromium, checks it and
 * saves report.png beside it.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BrowserUnavailableError } from '../../browser/chromium.js';
import { checkReportInBrowser, summarizeReportCheck } from '../../browser/report-check.js';
import type { RunRecord } from '../../run/run-record.js';
import { compareRuns, writeRunReports } from '../../report/write-reports.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';

async function readRecord(dir: string, io: Io): Promise<RunRecord | undefined> {
  const file = join(resolve(io.cwd, dir), 'run.json');
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
    if (record.runRecordVersion !== 1) throw new Error(`unsupported runRecordVersion ${String(record.runRecordVersion)}`);
    return record;
  } catch (err) {
    io.err(`modelpress report: cannot read ${file}: ${(err as Error).message}\n`);
    return undefined;
  }
}

export async function reportCommand(runDir: string, opts: { compare?: string; screenshot?: boolean }, io: Io): Promise<number> {
  const a = await readRecord(runDir, io);
  if (!a) return EXIT.invalid;
  if (opts.compare) {
    const b = await readRecord(opts.compare, io);
    if (!b) return EXIT.invalid;
    io.out(compareRuns(a, b));
    return EXIT.ok;
  }
  const dir = resolve(io.cwd, runDir);
  const written = await writeRunReports(dir, a);
  io.out(`wrote ${written.md} and ${written.html}\n`);
  if (!opts.screenshot) return EXIT.ok;
  return screenshotReport(written.html, join(dir, 'report.png'), io);
}

/** Browser check + report.png. A missing browser is a setup problem (exit 2), a failed check exit 1. */
async function screenshotReport(html: string, png: string, io: Io): Promise<number> {
  try {
    const result = await checkReportInBrowser(html, { screenshot: png });
    io.out(`${summarizeReportCheck(result)}\n`);
    if (result.ok) return EXIT.ok;
    for (const p of result.problems) io.err(`modelpress report: ${p}\n`);
    return EXIT.stageFailed;
  } catch (err) {
    if (err instanceof BrowserUnavailableError) {
      io.err(`modelpress report: cannot check report.html in a browser: ${err.message}\n`);
      return EXIT.invalid;
    }
    // A browser that crashed or timed out mid-check is not a bug in modelpress: one line, no stack.
    io.err(`modelpress report: browser check failed: ${((err as Error).message ?? String(err)).split('\n')[0]}\n`);
    return EXIT.stageFailed;
  }
}
