/**
 * Builds the parts of cache keys shared by every node of a run: the digest
 * of the recipe's input model, of the code of each stage the graph uses
 * (stage-code.ts), the tfjs versions, and so on.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { digestDirectory, digestFile } from '../cache/index.js';
import { PACKAGE_VERSION } from '../package-info.js';
import type { Json } from '../plugin.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import type { PlanGraph } from './graph.js';
import type { KeyContext } from './key-record.js';
import { stageCode } from './stage-code.js';
import type { CodeRoot, StageCode } from './stage-code.js';
import { tfjsVersions } from './tfjs-versions.js';

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
  /** `codeRoot`: where modelpress's own code is hashed from (default: this package's dist/, see stage-code.ts). */
  opts: { codeRoot?: CodeRoot } = {},
): Promise<KeyContext> {
  const nodeFiles = new Map<string, Record<string, string>>();
  for (const node of graph?.nodes ?? []) {
    const files = node.def.fileInputs?.(node.config) ?? [];
    if (files.length === 0) continue;
    const digests: Record<string, string> = {};
    for (const f of files) digests[f] = await digestPath(resolve(recipe.dir, f));
    nodeFiles.set(node.id, digests);
  }
  const codes = new Map<string, StageCode>();
  for (const node of graph?.nodes ?? []) {
    if (!codes.has(node.def.name)) codes.set(node.def.name, await stageCode(node, recipe.dir, opts.codeRoot));
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
    stageCode: codes,
    tfjs: tfjsVersions(backend),
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
