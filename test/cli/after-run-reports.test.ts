/**
 * The CLI writes the reports after a run (src/run no longer does): every
 * outcome gets report.md/html, a rendering failure is a warning event and
 * never an error, and the browser check is skipped when it does not apply.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReportsAfterRun } from '../../src/cli/after-run-reports.js';
import type { RunEvent } from '../../src/run/events.js';
import type { RunRecord } from '../../src/run/run-record.js';
import type { DeviceSpec } from '../../src/recipe/types.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';

function record(status: RunRecord['status']): RunRecord {
  return { ...fakeRunRecord('demo', [fakeNode('train', 'train', { accuracy: 97 })]), status };
}

describe('writeReportsAfterRun', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-after-run-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // [status, devices]: no browser device, or interrupted: no Chromium, no event.
  const quiet: [RunRecord['status'], Record<string, Pick<DeviceSpec, 'runtime'>>][] = [
    ['succeeded', { phone: { runtime: 'wasm' } }],
    ['failed', {}],
    ['interrupted', { web: { runtime: 'browser' } }],
  ];
  test.each(quiet)('%s run, devices %j: report.md and report.html, no browser check', async (status, devices) => {
    const events: RunEvent[] = [];
    await writeReportsAfterRun(dir, record(status), devices, (e) => events.push(e));
    expect(existsSync(join(dir, 'report.md'))).toBe(true);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(existsSync(join(dir, 'report.png'))).toBe(false);
    expect(events).toEqual([]);
  });

  test('a report that cannot be written is a warning event, not an error', async () => {
    const events: RunEvent[] = [];
    const missing = join(dir, 'no', 'such', 'dir');
    await expect(writeReportsAfterRun(missing, record('succeeded'), {}, (e) => events.push(e))).resolves.toBeUndefined();
    expect(events).toEqual([
      { type: 'node-log', node: 'report', level: 'warn', message: `report.md/report.html not written: ENOENT: no such file or directory, open '${join(missing, 'report.md')}'` },
    ]);
  });
});
