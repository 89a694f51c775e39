/**
 * Content fingerprints of the recipe's datasets, computed before anything
 * runs: they enter every cache key, so editing a data file re-runs what
 * depends on it. A dataset whose files cannot be read is a located recipe
 * error here, before any stage starts.
 */
import type { DatasetRegistry } from '../data/loader.js';
import { isDataError } from '../data/errors.js';
import type { Diagnostic } from '../recipe/diagnostic.js';
import { fail, ok } from '../recipe/diagnostic.js';
import type { Result } from '../recipe/diagnostic.js';
import { locate } from '../recipe/tree.js';
import type { ValidatedRecipe } from '../recipe/types.js';

export async function fingerprintData(recipe: ValidatedRecipe, loaders: DatasetRegistry): Promise<Result<Record<string, string>>> {
  const out: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [name, entry] of Object.entries(recipe.data)) {
    const loader = loaders.get(entry.uses);
    if (!loader) continue; // validation reported it
    const { uses: _uses, ...options } = entry;
    try {
      out[name] = await loader.fingerprint(options, { baseDir: recipe.dir, name });
    } catch (err) {
      if (!isDataError(err)) throw err;
      diagnostics.push({
        code: 'data-error',
        message: `dataset \`${name}\`: ${err.message}`,
        // An option at fault (an images folder with no images) is located at
        // its value; a bad file at the dataset's key.
        path: err.option ? `data.${name}.${err.option}` : `data.${name}`,
        loc: err.option ? locate(recipe.tree, ['data', name, err.option]) : locate(recipe.tree, ['data', name], { key: true }),
        ...(err.hint ? { hints: [err.hint] } : {}),
      });
    }
  }
  return diagnostics.length > 0 ? fail(diagnostics) : ok(out);
}
