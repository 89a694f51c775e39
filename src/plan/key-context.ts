/**
 * Builds the parts of cache keys shared by every node of a run: the digest
 * of the recipe's input model, of each local plugin file, and so on.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { digestDirectory, digestFile } from '../cache/index.js';
import { PACKAGE_VERSION } from '../package-info.js';
import type { Json } from '../plugin.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import type { PlanGraph } from './graph.js';
import type { KeyContext } from './key-record.js';

/**
 * `dataFingerprints`: dataset name -> content fingerprint (see
 * data-fingerprints.ts). Every node's key holds all of them: simple and
 * never stale, at the price of re-running on a change to any dataset.
 */
export async function buildKeyContext(
  recipe: ValidatedRecipe,
  backend: string,
  dataFingerprints: Record<string, string>,
  graph?: PlanGraph,
): Promise<KeyContext> {
  const nodeFiles = new Map<string, Record<string, string>>();
  for (const node of graph?.nodes ?? []) {
    const files = node.def.fileInputs?.(node.config) ?? [];
    if (files.length === 0) continue;
    const digests: Record<string, string> = {};
    for (const f of files) digests[f] = await digestPath(resolve(recipe.dir, f));
    nodeFiles.set(node.id, digests);
  }
  const pluginCode = new Map<string, string>();
  for (const spec of recipe.plugins) {
    const code = await pluginCodeDigest(recipe.dir, spec);
    if (code) pluginCode.set(spec, code);
  }
  let model: Json | undefined;
  if (recipe.model?.from) {
    const path = resolve(recipe.dir, recipe.model.from);
    // `from` may name model.json or its directory; the whole directory is the model.
    const dir = existsSync(path) && statSync(path).isFile() ? dirname(path) : path;
    model = existsSync(dir) ? { from: (await digestDirectory(dir)).digest } : { from: `missing:${recipe.model.from}` };
  } else if (recipe.model?.build) {
    model = { build: recipe.model.build as Json };
  }
  return {
    modelpressVersion: PACKAGE_VERSION,
    pluginCode,
    ...(model !== undefined ? { model } : {}),
    data: dataFingerprints,
    seed: recipe.seed,
    backend,
    nodeFiles,
    recipeSections: { devices: recipe.devices as unknown as Json, model: (recipe.model ?? null) as Json },
  };
}

/** A file's or directory's content digest; a missing path gets a marker (the stage reports it). */
async function digestPath(path: string): Promise<string> {
  if (!existsSync(path)) return 'missing';
  if (statSync(path).isFile()) return `sha256:${(await digestFile(path)).sha256}`;
  return (await digestDirectory(path)).digest;
}

/**
 * The digest of a local plugin file (`./x.mjs`, `/abs/x.mjs`) as it enters
 * cache keys; undefined for an npm package or a missing file. The worker
 * recomputes it to check the code it loaded is the code the key describes.
 */
export async function pluginCodeDigest(recipeDir: string, spec: string): Promise<string | undefined> {
  if (!spec.startsWith('.') && !isAbsolute(spec)) return undefined;
  const path = resolve(recipeDir, spec);
  return existsSync(path) ? `sha256:${(await digestFile(path)).sha256}` : undefined;
}
