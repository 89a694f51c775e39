/**
 * `modelpress validate <recipe>`: resolve and check a recipe without running
 * anything. Exit 0 with a one-line summary, or 2 with every problem found.
 */
import { relative } from 'node:path';
import { stringify } from 'yaml';
import type { ValidatedRecipe } from '../../recipe/types.js';
import { matrixCombinations } from '../../recipe/matrix.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';
import { prepare } from './prepare.js';

export interface ValidateOptions {
  set: string[];
  print: boolean;
}

export async function validateCommand(recipePath: string, opts: ValidateOptions, io: Io): Promise<number> {
  // The graph is built too, so dependency cycles are reported here as well.
  const result = await prepare(recipePath, opts.set, io);
  if (!result.ok) {
    io.err(formatDiagnostics(result.diagnostics, recipePath));
    return EXIT.invalid;
  }
  const { recipe } = result.value;
  if (opts.print) {
    io.out(`# resolved from: ${recipe.sources.map((s) => relative(io.cwd, s) || s).join(', ')}\n`);
    if (recipe.overrides.length > 0) io.out(`# overrides: ${recipe.overrides.join(' ')}\n`);
    io.out(stringify(recipe.resolved, { lineWidth: 0 }));
    return EXIT.ok;
  }
  io.out(`${recipePath}: ok: ${summarize(recipe)}\n`);
  return EXIT.ok;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarize(r: ValidatedRecipe): string {
  // The recipe's `model:` is a node too, but not a stage the user listed.
  const listed = r.stages.filter((s) => !s.source);
  const nodes = listed.reduce((n, s) => n + (s.matrix ? matrixCombinations(s.matrix).length : 1), 0);
  const parts = [
    `recipe \`${r.name}\``,
    ...(r.model?.from !== undefined ? [`model from ${r.model.from}`] : r.model?.build ? [`model built as ${r.model.build.arch}`] : []),
    plural(listed.length, 'stage') + (nodes !== listed.length ? ` (${plural(nodes, 'node')} after matrix expansion)` : ''),
    plural(Object.keys(r.devices).length, 'device'),
    plural(Object.keys(r.data).length, 'dataset'),
  ];
  if (r.sources.length > 1) parts.push(`${plural(r.sources.length - 1, 'preset')} merged`);
  return parts.join(', ');
}
