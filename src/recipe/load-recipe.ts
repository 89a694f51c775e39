/**
 * The whole front end in one call: resolve (extends, --set, vars), load the
 * plugins the recipe names into the given registry, validate. This is what
 * `validate`, `plan` and `run` share.
 */
import type { LoaderCatalog } from '../data/loader.js';
import type { StageRegistry } from '../plugin-registry.js';
import { PluginError } from '../plugin-registry.js';
import { checkRecipeFiles } from './check-files.js';
import { checkShapes } from './check-shapes.js';
import type { Diagnostic } from './diagnostic.js';
import { compareDiagnostics, fail } from './diagnostic.js';
import type { Result } from './diagnostic.js';
import { resolveRecipe } from './resolve.js';
import type { ResolveOptions, ResolvedRecipe } from './resolve.js';
import { locate } from './tree.js';
import type { ValidatedRecipe } from './types.js';
import { validateRecipe } from './validate.js';

export interface LoadRecipeOptions extends ResolveOptions {
  registry: StageRegistry;
  /** Dataset loaders whose schemas check `data:` entries; without it only `uses` is checked. */
  loaders?: LoaderCatalog;
}

export async function loadRecipe(path: string, opts: LoadRecipeOptions): Promise<Result<ValidatedRecipe>> {
  const resolved = await resolveRecipe(path, opts);
  if (!resolved.ok) return fail(resolved.diagnostics.sort(compareDiagnostics));
  const pluginDiagnostics = await loadPlugins(resolved.value, opts.registry);
  const validated = validateRecipe(resolved.value, opts.registry, opts.loaders);
  const { value, tree, dir } = resolved.value;
  const missing = await checkRecipeFiles({ value: value as Record<string, unknown>, tree, dir, ...(opts.loaders ? { loaders: opts.loaders } : {}) });
  const soft = resolved.value.diagnostics;
  if (pluginDiagnostics.length === 0 && soft.length === 0 && missing.length === 0) {
    // Shapes last: they read the data and the model, so everything they name must be valid and present.
    if (!validated.ok || !opts.loaders) return validated;
    const shapes = await checkShapes(validated.value, opts.registry, opts.loaders);
    return shapes.length === 0 ? validated : fail(shapes.sort(compareDiagnostics));
  }
  // A bad `${...}` stays in the value as text, so the schema would also call
  // it the wrong type; one message per spot is enough.
  const softLines = new Set(soft.map(lineKey));
  const rest = validated.ok ? [] : validated.diagnostics.filter((d) => !softLines.has(lineKey(d)));
  return fail([...pluginDiagnostics, ...soft, ...missing, ...rest].sort(compareDiagnostics));
}

function lineKey(d: Diagnostic): string {
  return d.loc ? `${d.loc.file}:${d.loc.line}` : '';
}

async function loadPlugins(resolved: ResolvedRecipe, registry: StageRegistry): Promise<Diagnostic[]> {
  const plugins = resolved.value.plugins;
  if (!Array.isArray(plugins)) return [];
  const diagnostics: Diagnostic[] = [];
  for (const [i, spec] of plugins.entries()) {
    if (typeof spec !== 'string') continue; // the schema reports it
    try {
      await registry.loadPlugin(spec, resolved.dir);
    } catch (err) {
      const message = err instanceof PluginError ? err.message : `plugin ${spec}: ${(err as Error).message}`;
      diagnostics.push({ code: 'plugin-error', message, path: `plugins[${i}]`, loc: locate(resolved.tree, ['plugins', i]) });
    }
  }
  return diagnostics;
}
