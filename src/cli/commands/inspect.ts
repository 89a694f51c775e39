/**
 * `modelpress inspect <model-dir|model.json|model.mpk> [--json]`: what a
 * model is made of and what each built-in stage would do to it, before
 * writing a recipe. Exit 0 with the table (or the ModelReport as JSON), or 2
 * with a diagnostic when the path is not a readable model.
 */
import { inspectModel } from '../../inspect/inspect-model.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { renderInspectTable } from '../inspect-table.js';
import { formatDiagnostics } from '../print-diagnostics.js';

export interface InspectCommandOptions {
  /** Print the ModelReport as JSON instead of the table. Default: false. */
  json: boolean;
}

export async function inspectCommand(path: string, opts: InspectCommandOptions, io: Io): Promise<number> {
  const result = await inspectModel(path);
  if (!result.ok) {
    io.err(formatDiagnostics(result.diagnostics, path));
    return EXIT.invalid;
  }
  io.out(opts.json ? `${JSON.stringify(result.value, null, 2)}\n` : renderInspectTable(result.value));
  return EXIT.ok;
}
