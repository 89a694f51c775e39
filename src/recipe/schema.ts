/**
 * The recipe schema. schemas/recipe.schema.json is the single source of
 * truth (editors use the same file through a yaml-language-server comment),
 * so it is read from the package at run time rather than copied into code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';

export const RECIPE_SCHEMA_PATH = join(PACKAGE_ROOT, 'schemas', 'recipe.schema.json');

let cached: Record<string, unknown> | undefined;

export function recipeSchema(): Record<string, unknown> {
  cached ??= JSON.parse(readFileSync(RECIPE_SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  return cached;
}

/** Keys allowed at the top of a recipe, for suggestions outside schema validation. */
export function topLevelKeys(): string[] {
  return Object.keys((recipeSchema().properties ?? {}) as object);
}
