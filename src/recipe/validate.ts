/**
 * Validation in two levels: the recipe schema, then each stage's own `with`
 * schema from the stage registry, then references between stages. All
 * problems are collected so the user fixes them in one pass.
 */
import type { AnySchema } from 'ajv';
import type { LoaderCatalog } from '../data/loader.js';
import type { StageCatalog } from '../plugin-registry.js';
import type { Json } from '../plugin.js';
import { compileSchema } from './ajv.js';
import { checkStageDatasets } from './check-datasets.js';
import type { Diagnostic, PathSegment } from './diagnostic.js';
import { compareDiagnostics, fail, formatPath, ok } from './diagnostic.js';
import type { Result } from './diagnostic.js';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { MAX_MATRIX_COMBINATIONS, matrixCombinations, substituteMatrix } from './matrix.js';
import type { MatrixValue } from './matrix.js';
import type { ResolvedRecipe } from './resolve.js';
import { recipeSchema } from './schema.js';
import { schemaErrorsToDiagnostics } from './schema-errors.js';
import { didYouMean, listCode } from './suggest.js';
import type { MapNode, TreeNode } from './tree.js';
import { keyLoc, locate, nodeAt, toPlain } from './tree.js';
import type { StageSpec, ValidatedRecipe } from './types.js';

/** Validates the top-level schema only; used before plugins can be loaded. */
export function validateCore(resolved: ResolvedRecipe): { value: Record<string, Json>; diagnostics: Diagnostic[] } {
  const value = structuredClone(resolved.value) as Record<string, Json>;
  const validate = compileSchema(recipeSchema() as AnySchema);
  const valid = validate(value);
  const diagnostics = valid ? [] : schemaErrorsToDiagnostics(validate.errors ?? [], resolved.tree);
  return { value, diagnostics };
}

export function validateRecipe(resolved: ResolvedRecipe, stages: StageCatalog, loaders?: LoaderCatalog): Result<ValidatedRecipe> {
  const { value, diagnostics } = validateCore(resolved);
  const tree = resolved.tree;
  if (loaders) checkData(value, tree, loaders, diagnostics);
  const specs = checkStages(value, tree, stages, diagnostics);
  if (diagnostics.length > 0) return fail(diagnostics.sort(compareDiagnostics));
  // Show stage defaults in the resolved recipe too (`validate --print`, run.json):
  // it should say exactly what runs. Matrix stages keep their `${matrix.*}` form.
  const listed = value.stages as Record<string, Json>[];
  for (const spec of specs) if (!spec.matrix && !spec.source) listed[spec.index]!.with = spec.with;
  const v = value as Record<string, any>;
  return ok({
    file: resolved.file,
    dir: resolved.dir,
    sources: resolved.sources,
    overrides: resolved.overrides,
    version: 1,
    name: v.name,
    ...(v.description !== undefined ? { description: v.description } : {}),
    seed: v.seed ?? 0,
    vars: v.vars ?? {},
    ...(v.model !== undefined ? { model: v.model } : {}),
    data: v.data ?? {},
    devices: v.devices ?? {},
    plugins: v.plugins ?? [],
    stages: specs,
    resolved: value,
    tree,
  });
}

/** Each dataset's options against its loader's schema; defaults are filled in place. */
function checkData(value: Record<string, Json>, tree: MapNode, loaders: LoaderCatalog, diagnostics: Diagnostic[]): void {
  const data = value.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return;
  for (const [name, entry] of Object.entries(data)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || typeof entry.uses !== 'string') continue;
    const loader = loaders.get(entry.uses);
    const path: PathSegment[] = ['data', name];
    if (!loader) {
      const names = loaders.names();
      diagnostics.push({
        code: 'unknown-loader',
        message: `unknown dataset loader \`${entry.uses}\`${didYouMean(entry.uses, names)}`,
        path: formatPath([...path, 'uses']),
        loc: locate(tree, [...path, 'uses']),
        hints: [`loaders: ${listCode(names)}`],
      });
      continue;
    }
    const { uses, ...options } = entry;
    const r = checkStageConfig(loader.schema as AnySchema, options, tree, path);
    diagnostics.push(...r.diagnostics);
    (data as Record<string, Json>)[name] = { uses, ...r.config };
  }
}

/** Applies a stage's schema (with defaults) to one concrete `with` value. */
export function checkStageConfig(
  schema: AnySchema | undefined,
  config: Json,
  tree: TreeNode,
  base: PathSegment[],
): { config: Record<string, Json>; diagnostics: Diagnostic[] } {
  const copy = structuredClone(config ?? {}) as Record<string, Json>;
  if (schema === undefined) return { config: copy, diagnostics: [] };
  const validate = compileSchema(schema);
  if (validate(copy)) return { config: copy, diagnostics: [] };
  return { config: copy, diagnostics: schemaErrorsToDiagnostics(validate.errors ?? [], tree, base) };
}

function checkStages(value: Record<string, Json>, tree: MapNode, catalog: StageCatalog, diagnostics: Diagnostic[]): StageSpec[] {
  const list = value.stages;
  if (!Array.isArray(list)) return [];
  const data = value.data;
  const declared = data !== null && typeof data === 'object' && !Array.isArray(data) ? Object.keys(data) : undefined;
  const firstIdAt = new Map<string, number>();
  const specs: StageSpec[] = [];
  const source = modelSourceSpec(value, tree, catalog, diagnostics);
  if (source) specs.push(source);
  list.forEach((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
    const s = raw as Record<string, Json>;
    const path: PathSegment[] = ['stages', index];
    if (typeof s.id !== 'string' || typeof s.uses !== 'string') return;
    const prev = firstIdAt.get(s.id);
    if (source && s.id === MODEL_SOURCE_ID) {
      diagnostics.push({
        code: 'duplicate-stage-id',
        message: `stage id \`${MODEL_SOURCE_ID}\` is taken by the recipe's \`model:\` (at ${source.loc.file}:${source.loc.line}:${source.loc.column})`,
        path: formatPath([...path, 'id']),
        loc: locate(tree, [...path, 'id']),
        hints: ['rename this stage: `needs: [model]` refers to the recipe\'s model'],
      });
    } else if (prev !== undefined) {
      const first = locate(tree, ['stages', prev, 'id']);
      diagnostics.push({
        code: 'duplicate-stage-id',
        message: `duplicate stage id \`${s.id}\` (first used by stages[${prev}] at ${first.file}:${first.line}:${first.column})`,
        path: formatPath([...path, 'id']),
        loc: locate(tree, [...path, 'id']),
        hints: ['stage ids must be unique: other stages refer to them in `needs:`'],
      });
    } else {
      firstIdAt.set(s.id, index);
    }

    const withTree = nodeAt(tree, [...path, 'with']) ?? { kind: 'map' as const, loc: locate(tree, path), entries: new Map() };
    const stage = catalog.get(s.uses);
    let config = (s.with ?? {}) as Record<string, Json>;
    if (!stage) {
      const names = catalog.names();
      diagnostics.push({
        code: 'unknown-stage',
        message: `unknown stage type \`${s.uses}\`${didYouMean(s.uses, names)}`,
        path: formatPath([...path, 'uses']),
        loc: locate(tree, [...path, 'uses']),
        hints: [
          names.length > 0 ? `registered stages: ${listCode(names)}` : 'no stages are registered',
          'stages from plugins need the plugin listed under `plugins:`',
        ],
      });
    } else {
      const matrix = s.matrix as Record<string, MatrixValue[]> | undefined;
      const datasets = (config: Record<string, Json>, t: TreeNode) =>
        checkStageDatasets(stage.def, { stageId: s.id as string, config, tree: t, stagePath: path, declared });
      config = checkWith(stage.def.schema as AnySchema | undefined, s, matrix, withTree, [...path, 'with'], tree, diagnostics, datasets);
    }
    const needsNode = s.needs;
    const explicit = needsNode !== undefined;
    // Default: the previous stage; the first stage starts from the recipe's model.
    const needs = explicit
      ? Array.isArray(needsNode)
        ? (needsNode as string[])
        : [needsNode as string]
      : index > 0 && typeof (list[index - 1] as any)?.id === 'string'
        ? [(list[index - 1] as any).id as string]
        : source
          ? [MODEL_SOURCE_ID]
          : [];
    const timeoutMs = s.timeout === undefined ? undefined : parseDuration(s.timeout);
    if (timeoutMs === undefined && typeof s.timeout === 'string' && DURATION_PATTERN.test(s.timeout)) {
      // The schema's pattern admits `0s`; a limit of nothing would fail every run.
      diagnostics.push({
        code: 'bad-value',
        message: `Expected \`timeout\` to be a positive duration (seconds, or 500ms, 90s, 30m, 2h), got ${JSON.stringify(s.timeout)}`,
        path: formatPath([...path, 'timeout']),
        loc: locate(tree, [...path, 'timeout']),
      });
    }
    specs.push({
      id: s.id,
      uses: s.uses,
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      with: config,
      withTree,
      needs,
      needsExplicit: explicit,
      ...(s.matrix !== undefined ? { matrix: s.matrix as Record<string, MatrixValue[]> } : {}),
      loc: locate(tree, [...path, 'id']),
      index,
      withPath: [...path, 'with'],
    });
  });

  const ids = specs.map((s) => s.id);
  for (const spec of specs) {
    if (!spec.needsExplicit) continue;
    spec.needs.forEach((need, i) => {
      if (ids.includes(need) && need !== spec.id) return;
      const needsPath: PathSegment[] = ['stages', spec.index, 'needs'];
      const node = nodeAt(tree, needsPath);
      const at = node?.kind === 'seq' ? [...needsPath, i] : needsPath;
      diagnostics.push({
        code: need === spec.id ? 'dependency-cycle' : 'unknown-need',
        message: need === spec.id ? `stage \`${spec.id}\` needs itself` : `\`needs\` names no stage \`${need}\`${didYouMean(need, ids)}`,
        path: formatPath(at),
        loc: locate(tree, at),
        hints: [`stage ids: ${listCode(new Set(ids))}`],
      });
    });
  }
  if (diagnostics.length === 0) checkUpstream(specs, tree, catalog, diagnostics);
  return specs;
}

/** Each stage's `checkUpstream` against the stages it needs (once every `needs:` name is known). */
function checkUpstream(specs: StageSpec[], tree: MapNode, catalog: StageCatalog, diagnostics: Diagnostic[]): void {
  const byId = new Map(specs.map((s) => [s.id, s]));
  for (const spec of specs) {
    const def = catalog.get(spec.uses)?.def;
    if (!def?.checkUpstream || spec.matrix || spec.source) continue;
    const upstream = spec.needs.flatMap((id) => {
      const need = byId.get(id);
      return need ? [{ id: need.id, uses: need.uses }] : [];
    });
    for (const problem of def.checkUpstream(spec.with, upstream)) {
      const at: PathSegment[] = ['stages', spec.index, ...problem.path];
      // `needs:` may be implicit (the default upstream): point at the stage's `uses` then.
      const written = nodeAt(tree, at) !== undefined;
      diagnostics.push({
        code: 'bad-upstream',
        message: `stage \`${spec.id}\`: ${problem.message}`,
        path: formatPath(at),
        loc: locate(tree, written ? at : ['stages', spec.index, 'uses']),
        hints: problem.hints ?? [],
      });
    }
  }
}

/** The node id of the recipe's `model:` (see src/stages/model/model.ts). */
export const MODEL_SOURCE_ID = 'model';

/**
 * The recipe's `model:` as a stage of its own (`uses: model`), placed first:
 * the default upstream of the first stage, and a stage id other stages may
 * name in `needs:` (e.g. evaluate's reference). Its config errors point at
 * the recipe's `model:`.
 */
function modelSourceSpec(value: Record<string, Json>, tree: MapNode, catalog: StageCatalog, diagnostics: Diagnostic[]): StageSpec | undefined {
  if (value.model === undefined || value.model === null || typeof value.model !== 'object') return undefined;
  const stage = catalog.get(MODEL_SOURCE_ID);
  if (!stage) return undefined; // a registry without the built-ins (tests, embedders)
  const withTree = nodeAt(tree, ['model'])!;
  const r = checkStageConfig(stage.def.schema as AnySchema | undefined, value.model, tree, ['model']);
  // The recipe schema checks `model:` with the same definitions; report once.
  const reported = diagnostics.some((d) => d.path === 'model' || d.path?.startsWith('model.'));
  if (!reported) diagnostics.push(...r.diagnostics);
  return {
    id: MODEL_SOURCE_ID,
    uses: MODEL_SOURCE_ID,
    description: "the recipe's model",
    with: r.config,
    withTree,
    needs: [],
    needsExplicit: true,
    loc: locate(tree, ['model'], { key: true }),
    index: -1,
    withPath: ['model'],
    source: true,
  };
}

/** Validates `with` once, or once per matrix combination (with its values substituted). */
function checkWith(
  schema: AnySchema | undefined,
  s: Record<string, Json>,
  matrix: Record<string, MatrixValue[]> | undefined,
  withTree: TreeNode,
  base: PathSegment[],
  tree: MapNode,
  diagnostics: Diagnostic[],
  datasets: (config: Record<string, Json>, tree: TreeNode) => Diagnostic[],
): Record<string, Json> {
  if (!matrix) {
    const r = checkStageConfig(schema, s.with ?? {}, tree, base);
    diagnostics.push(...r.diagnostics);
    // Dataset names are only trusted once the config is valid (a wrong type is one error, not two).
    if (r.diagnostics.length === 0) diagnostics.push(...datasets(r.config, tree));
    return r.config;
  }
  const combos = matrixCombinations(matrix);
  if (combos.length > MAX_MATRIX_COMBINATIONS) {
    diagnostics.push({
      code: 'out-of-range',
      message: `\`${formatPath(base.slice(0, -1))}.matrix\` expands to ${combos.length} combinations; the limit is ${MAX_MATRIX_COMBINATIONS}`,
      path: formatPath([...base.slice(0, -1), 'matrix']),
      loc: keyLoc(nodeAt(tree, base.slice(0, -1)) as MapNode, 'matrix'),
    });
    return (s.with ?? {}) as Record<string, Json>;
  }
  const seen = new Set<string>();
  for (const combo of combos) {
    const subst: Diagnostic[] = [];
    const concrete = substituteMatrix(withTree, combo, subst);
    // Errors are located in a tree whose `with` holds this combination's values.
    const comboTree = replaceAt(tree, base, concrete);
    const r = checkStageConfig(schema, toPlain(concrete) as Json, comboTree, base);
    const named = subst.length === 0 && r.diagnostics.length === 0 ? datasets(r.config, comboTree) : [];
    for (const d of [...subst, ...r.diagnostics, ...named]) {
      const key = `${d.path}\0${d.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const suffix = ` (with matrix ${Object.entries(combo).map(([k, v]) => `${k}=${String(v)}`).join(', ')})`;
      diagnostics.push({ ...d, message: d.message + suffix });
    }
  }
  return (s.with ?? {}) as Record<string, Json>;
}

function replaceAt(root: TreeNode, path: PathSegment[], value: TreeNode): TreeNode {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (root.kind === 'map') {
    const entry = root.entries.get(String(head));
    if (!entry) return root;
    const entries = new Map(root.entries);
    entries.set(String(head), { ...entry, value: replaceAt(entry.value, rest, value) });
    return { ...root, entries };
  }
  if (root.kind === 'seq' && typeof head === 'number' && root.items[head]) {
    const items = [...root.items];
    items[head] = replaceAt(root.items[head]!, rest, value);
    return { ...root, items };
  }
  return root;
}
