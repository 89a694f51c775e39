/**
 * Resolving a recipe: `extends` presets merged in, `--set` overrides applied,
 * `${vars.*}` substituted. The result is still a located tree, so validation
 * can point at whichever file supplied each value.
 *
 * Merge order (later wins): for each file, its `extends` list left to right,
 * each preset itself resolved the same way first (depth-first); then the
 * file's own keys; finally, for the top-level recipe, `--set` overrides in the
 * order given. Maps merge deeply; lists and scalars are replaced.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Diagnostic, SourceLoc } from './diagnostic.js';
import { fail, ok } from './diagnostic.js';
import type { Result } from './diagnostic.js';
import { interpolate } from './interpolate.js';
import type { InterpolationScope } from './interpolate.js';
import { RECIPE_LIMITS } from './limits.js';
import { loadYamlFile } from './load.js';
import { mergeTrees } from './merge.js';
import { applyOverride, parseOverride } from './overrides.js';
import { findPreset } from './presets.js';
import type { MapNode, TreeNode } from './tree.js';
import { toPlain } from './tree.js';

export interface ResolvedRecipe {
  /** Absolute path of the recipe file. */
  file: string;
  /** Directory relative paths in the recipe (model.from, plugins) are resolved against. */
  dir: string;
  /** Merged, overridden, interpolated tree with source locations. */
  tree: MapNode;
  /** The same as plain data. */
  value: Record<string, unknown>;
  /** Every file that contributed, in merge order (presets first, the recipe last). */
  sources: string[];
  /** The overrides applied, as typed. */
  overrides: string[];
  /**
   * Problems that do not stop validation (bad `${...}` references): the
   * reference is left in place, so schema errors elsewhere are still found.
   */
  diagnostics: Diagnostic[];
}

export interface ResolveOptions {
  /** `path=value` strings from `--set`, applied in order. */
  overrides?: string[];
  /** Base for the display names in diagnostics; defaults to process.cwd(). */
  cwd?: string;
}

export async function resolveRecipe(path: string, opts: ResolveOptions = {}): Promise<Result<ResolvedRecipe>> {
  const cwd = opts.cwd ?? process.cwd();
  const file = resolve(cwd, path);
  const ctx: LayerContext = { cwd, sources: [], diagnostics: [] };
  const layer = await loadLayer(file, [], ctx, undefined);
  if (layer === undefined || ctx.diagnostics.length > 0) return fail(ctx.diagnostics);

  let tree: TreeNode = layer;
  for (const raw of opts.overrides ?? []) {
    const parsed = parseOverride(raw);
    if (!parsed.ok) {
      ctx.diagnostics.push(...parsed.diagnostics);
      continue;
    }
    const applied = applyOverride(tree, parsed.value);
    if (!applied.ok) ctx.diagnostics.push(...applied.diagnostics);
    else tree = applied.value;
  }
  if (ctx.diagnostics.length > 0) return fail(ctx.diagnostics);

  const soft: Diagnostic[] = [];
  const interpolated = interpolateRecipe(tree as MapNode, soft);
  return ok({
    file,
    dir: dirname(file),
    tree: interpolated,
    value: toPlain(interpolated) as Record<string, unknown>,
    sources: ctx.sources,
    overrides: opts.overrides ?? [],
    diagnostics: soft,
  });
}

interface LayerContext {
  cwd: string;
  sources: string[];
  diagnostics: Diagnostic[];
}

function displayName(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** Loads one file and everything it extends, merged; undefined after reporting errors. */
async function loadLayer(file: string, chain: string[], ctx: LayerContext, referencedAt: SourceLoc | undefined): Promise<MapNode | undefined> {
  const name = displayName(file, ctx.cwd);
  const loaded = await loadYamlFile(file, { displayName: name });
  if (!loaded.ok) {
    ctx.diagnostics.push(...loaded.diagnostics.map((d) => (d.loc || !referencedAt ? d : { ...d, loc: referencedAt })));
    return undefined;
  }
  const root = loaded.value.tree;
  if (root.kind !== 'map') {
    ctx.diagnostics.push({
      code: 'not-a-mapping',
      message: `${name} must be a YAML mapping of recipe keys (version, name, stages, ...), got a ${root.kind === 'seq' ? 'list' : 'single value'}`,
      path: '',
      loc: root.loc,
    });
    return undefined;
  }

  let base: MapNode | undefined;
  const ext = root.entries.get('extends');
  for (const ref of extendsRefs(ext?.value, ctx.diagnostics)) {
    const found = findPreset(ref.name, file);
    if (!found.found) {
      ctx.diagnostics.push({
        code: 'preset-not-found',
        message: `cannot find preset \`${ref.name}\`: ${found.reason}`,
        path: 'extends',
        loc: ref.loc,
        hints: [`looked for: ${found.tried.slice(0, 4).map((t) => displayName(t, ctx.cwd)).join(', ')}`],
      });
      continue;
    }
    const nextChain = [...chain, file];
    if (nextChain.includes(found.path)) {
      const cycle = [...nextChain.slice(nextChain.indexOf(found.path)), found.path].map((f) => displayName(f, ctx.cwd));
      ctx.diagnostics.push({
        code: 'extends-cycle',
        message: `extends cycle: ${cycle.join(' -> ')}`,
        path: 'extends',
        loc: ref.loc,
        hints: ['a preset cannot extend, directly or indirectly, a file that extends it'],
      });
      continue;
    }
    if (nextChain.length > RECIPE_LIMITS.maxExtendsDepth) {
      ctx.diagnostics.push({
        code: 'extends-cycle',
        message: `extends chain deeper than ${RECIPE_LIMITS.maxExtendsDepth} files`,
        path: 'extends',
        loc: ref.loc,
      });
      continue;
    }
    const preset = await loadLayer(found.path, nextChain, ctx, ref.loc);
    if (preset) base = base ? (mergeTrees(base, preset) as MapNode) : preset;
  }

  const own: MapNode = { ...root, entries: new Map([...root.entries].filter(([k]) => k !== 'extends')) };
  ctx.sources.push(file);
  return base ? (mergeTrees(base, own) as MapNode) : own;
}

function extendsRefs(node: TreeNode | undefined, diagnostics: Diagnostic[]): { name: string; loc: SourceLoc }[] {
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return [];
  const items = node.kind === 'seq' ? node.items : [node];
  const refs: { name: string; loc: SourceLoc }[] = [];
  for (const item of items) {
    if (item.kind === 'scalar' && typeof item.value === 'string' && item.value !== '') {
      refs.push({ name: item.value, loc: item.loc });
    } else {
      diagnostics.push({
        code: 'wrong-type',
        message: 'each `extends` entry must be a preset name: `modelpress:<path>`, `./file.yaml` or an npm package',
        path: 'extends',
        loc: item.loc,
      });
    }
  }
  return refs;
}

/**
 * Substitutes vars everywhere but in `vars:` itself (vars are literal values).
 * Inside a stage with a `matrix:`, matrix references are checked and left for
 * the planner, which substitutes each combination.
 */
function interpolateRecipe(root: MapNode, diagnostics: Diagnostic[]): MapNode {
  const vars = root.entries.get('vars')?.value;
  const base: InterpolationScope = { values: vars ? { vars } : {}, ...(vars ? {} : { deferred: {} }) };
  const entries = new Map(root.entries);
  for (const [key, entry] of root.entries) {
    if (key === 'vars') continue;
    if (key === 'stages' && entry.value.kind === 'seq') {
      const items = entry.value.items.map((stage) => interpolateStage(stage, base, diagnostics));
      entries.set(key, { ...entry, value: { ...entry.value, items } });
      continue;
    }
    entries.set(key, { ...entry, value: interpolate(entry.value, base, diagnostics) });
  }
  return { ...root, entries };
}

function interpolateStage(stage: TreeNode, base: InterpolationScope, diagnostics: Diagnostic[]): TreeNode {
  if (stage.kind !== 'map') return interpolate(stage, base, diagnostics);
  const matrix = stage.entries.get('matrix')?.value;
  const matrixKeys = matrix?.kind === 'map' ? [...matrix.entries.keys()] : undefined;
  const scope: InterpolationScope = matrixKeys
    ? { ...base, deferred: { ...base.deferred, matrix: matrixKeys }, keepEscapes: true }
    : base;
  const entries = new Map(stage.entries);
  for (const [key, entry] of stage.entries) {
    entries.set(key, { ...entry, value: interpolate(entry.value, key === 'matrix' ? base : scope, diagnostics) });
  }
  return { ...stage, entries };
}
