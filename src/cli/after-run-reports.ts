/**
 * The composition root's last step of `run` and `reproduce`: once src/run has
 * written run.json, render report.md and report.html beside it and, for a
 * recipe with a browser device, check the report in Chromium and save
 * report.png. Here rather than in src/run so the runner does not depend on
 * the renderers (or, through the check, on playwright): src/run executes and
 * records, the CLI decides what to show.
 */
import type { EventSink } from '../run/events.js';
import type { RunRecord } from '../run/run-record.js';
import type { DeviceSpec } from '../recipe/types.js';
import { writeRunReports } from '../report/write-reports.js';
import { screenshotRunReport, targetsBrowser } from './report-screenshot.js';

/**
 * Writes the reports of `record` into `runDir`. Never throws for a rendering
 * or browser problem: it becomes a `report` warning event, because the run's
 * status (and exit code) must not depend on how its report was drawn.
 */
export async function writeReportsAfterRun(
  runDir: string,
  record: RunRecord,
  devices: Record<string, Pick<DeviceSpec, 'runtime'>>,
  onEvent: EventSink,
): Promise<void> {
  // Reports for every outcome (failed, interrupted, budget missed).
  try {
    await writeRunReports(runDir, record);
  } catch (err) {
    onEvent({ type: 'node-log', node: 'report', level: 'warn', message: `report.md/report.html not written: ${(err as Error).message}` });
    return;
  }
  // A browser target: check report.html in Chromium and save report.png (skipped
  // after Ctrl-C, the user wants out).
  if (record.status !== 'interrupted' && targetsBrowser(devices)) {
    const shot = await screenshotRunReport(runDir);
    onEvent({ type: 'node-log', node: 'report', level: 'info' in shot ? 'info' : 'warn', message: 'info' in shot ? shot.info : shot.warning });
  }
}
