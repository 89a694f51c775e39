/**
 * After a run that targets a browser (`runtime: browser` on any device), the
 * report is opened in headless Chromium, checked, and report.png saved beside
 * it. Best effort: the run's results are already on disk, so a missing
 * browser or a failed check comes back as warning lines, never as an error.
 * Part of the CLI's composition root (after-run-reports.ts), not of src/run
 * or src/report: only the CLI decides to start a browser after a run.
 */
import { join } from 'node:path';
import type { DeviceSpec } from '../recipe/types.js';

/** Whether any device of the recipe runs tfjs in a browser page. */
export function targetsBrowser(devices: Record<string, Pick<DeviceSpec, 'runtime'>>): boolean {
  return Object.values(devices).some((d) => d.runtime === 'browser');
}

/** Checks `report.html` of `runDir` in Chromium and writes `report.png`; returns { info } on success, { warning } otherwise. */
export async function screenshotRunReport(runDir: string): Promise<{ info: string } | { warning: string }> {
  try {
    // Loaded on demand: runs without a browser device never touch playwright.
    const { checkReportInBrowser, summarizeReportCheck } = await import('../browser/report-check.js');
    const result = await checkReportInBrowser(join(runDir, 'report.html'), { screenshot: join(runDir, 'report.png') });
    const summary = summarizeReportCheck(result);
    return result.ok ? { info: summary } : { warning: `${summary}: ${result.problems.join('; ')}` };
  } catch (err) {
    return { warning: `report.png not written: ${((err as Error).message ?? String(err)).split('\n')[0]}` };
  }
}
