/**
 * `modelpress report <run-dir>`: re-render report.md and report.html from a
 * run's run.json; `--compare <other-run-dir>` prints what differs.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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

export async function reportCommand(runDir: string, opts: { compare?: string }, io: Io): Promise<number> {
  const a = await readRecord(runDir, io);
  if (!a) return EXIT.invalid;
  if (opts.compare) {
    const b = await readRecord(opts.compare, io);
    if (!b) return EXIT.invalid;
    io.out(compareRuns(a, b));
    return EXIT.ok;
  }
  const dir = resolve(io.cwd, runDir);
  await writeRunReports(dir, a);
  io.out(`wrote ${join(dir, 'report.md')} and ${join(dir, 'report.html')}\n`);
  return EXIT.ok;
}
