/**
 * `validate()` of the library API: what `modelpress validate` checks
 * (extends, vars, overrides, plugins, schemas, the graph's cycles), as a
 * Result instead of printed text.
 */
import type { Result } from '../recipe/diagnostic.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import { expectObject, expectString, expectStrings } from './options.js';
import { prepareRecipe } from './prepare.js';
import type { PrepareOptions } from './prepare.js';

export type ValidateOptions = PrepareOptions;

/**
 * Resolves and checks the recipe at `recipePath` without running anything.
 * `{ ok: true, value }` holds the validated recipe (schema defaults filled
 * in); `{ ok: false, diagnostics }` every problem found, located in the file
 * that supplied the value (render them with `formatDiagnostic`).
 */
export async function validate(recipePath: string, options: ValidateOptions = {}): Promise<Result<ValidatedRecipe>> {
  expectString('recipePath', recipePath);
  expectObject('options', options);
  expectStrings('set', options.set);
  expectString('cwd', options.cwd);
  const prepared = await prepareRecipe(recipePath, options);
  return prepared.ok ? { ok: true, value: prepared.value.recipe } : prepared;
}
