/**
 * From a validated recipe to a graph of nodes.
 *
 * A stage becomes one node, or one per combination of its `matrix:`. A stage
 * downstream of a fanned-out stage fans out with it (one node per upstream
 * candidate, the candidate's matrix values carried into its id), unless its
 * definition says `fanIn: true`, in which case a single node takes every
 * candidate (how `select` sees all sweeps at once).
 */
import type { StageCatalog } from '../plugin-registry.js';
import type { Json, StageDefinition } from '../plugin.js';
import type { Diagnostic } from '../recipe/diagnostic.js';
import { fail, formatPath, ok } from '../recipe/diagnostic.js';
import type { Result } from '../recipe/diagnostic.js';
import { matrixCombinations, nodeId, substituteMatrix } from '../recipe/matrix.js';
import type { MatrixCombo } from '../recipe/matrix.js';
import { toPlain } from '../recipe/tree.js';
import type { StageSpec, ValidatedRecipe } from '../recipe/types.js';
import { checkStageConfig } from '../recipe/validate.js';
import { findStageCycle } from './cycles.js';

export interface PlanNode {
  /** Unique id: the stage id plus matrix values, e.g. `prune[sparsity=0.9]`. */
  id: string;
  stage: StageSpec;
  def: StageDefinition<any>;
  /** Where the stage definition came from: `builtin`, a plugin path or package. */
  source: string;
  /** Every matrix value identifying this node: inherited from upstream, then its own. */
  matrix: MatrixCombo;
  /** `with:` for this node: matrix values substituted, defaults applied. */
  config: Record<string, Json>;
  /** Upstream node ids, in `needs` order. */
  inputs: string[];
}

export interface PlanGraph {
  /** Nodes in a valid execution order (stable: recipe order where free). */
  nodes: PlanNode[];
  byId: Map<string, PlanNode>;
  /** Nodes nothing depends on: the run's final artifacts. */
  sinks: string[];
}

export function buildGraph(recipe: ValidatedRecipe, catalog: StageCatalog): Result<PlanGraph> {
  const cycle = findStageCycle(recipe.stages);
  if (cycle) {
    const first = recipe.stages.find((s) => s.id === cycle[0])!;
    const d: Diagnostic = {
      code: 'dependency-cycle',
      message: `dependency cycle: ${cycle.join(' -> ')}`,
      path: formatPath(['stages', first.index, 'needs']),
      loc: first.loc,
      hints: ['a stage cannot need, directly or through others, a stage that needs it'],
    };
    return fail([d]);
  }

  const byStage = new Map<string, PlanNode[]>();
  const nodes: PlanNode[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const stage of stageOrder(recipe.stages)) {
    const reg = catalog.get(stage.uses);
    if (!reg) continue; // validation already reported it
    const contexts = upstreamContexts(stage, byStage, reg.def.fanIn === true);
    const own = stage.matrix ? matrixCombinations(stage.matrix) : [{}];
    const made: PlanNode[] = [];
    for (const ctx of contexts) {
      for (const combo of own) {
        const matrix = mergeCombos(ctx.matrix, combo, stage.id);
        const withTree = stage.matrix ? substituteMatrix(stage.withTree, combo, diagnostics) : stage.withTree;
        const config = stage.matrix
          ? checkStageConfig(reg.def.schema as any, toPlain(withTree) as Json, recipe.tree, ['stages', stage.index, 'with'])
          : { config: stage.with, diagnostics: [] };
        diagnostics.push(...config.diagnostics);
        made.push({ id: nodeId(stage.id, matrix), stage, def: reg.def, source: reg.source, matrix, config: config.config, inputs: ctx.inputs });
      }
    }
    byStage.set(stage.id, made);
    nodes.push(...made);
  }
  if (diagnostics.length > 0) return fail(diagnostics);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const used = new Set(nodes.flatMap((n) => n.inputs));
  return ok({ nodes, byId, sinks: nodes.filter((n) => !used.has(n.id)).map((n) => n.id) });
}

interface Context {
  inputs: string[];
  matrix: MatrixCombo;
}

/** One context per combination of upstream candidates (or one with all of them, for fan-in). */
function upstreamContexts(stage: StageSpec, byStage: Map<string, PlanNode[]>, fanIn: boolean): Context[] {
  const lists = stage.needs.map((n) => byStage.get(n) ?? []);
  if (fanIn) return [{ inputs: lists.flat().map((n) => n.id), matrix: {} }];
  let contexts: Context[] = [{ inputs: [], matrix: {} }];
  for (const list of lists) {
    contexts = contexts.flatMap((c) =>
      list.map((n) => ({ inputs: [...c.inputs, n.id], matrix: mergeCombos(c.matrix, n.matrix, n.stage.id) })),
    );
  }
  return contexts;
}

/** Merges matrix values; a key seen twice with different values is qualified by its stage id. */
function mergeCombos(base: MatrixCombo, more: MatrixCombo, stageId: string): MatrixCombo {
  const out = { ...base };
  for (const [k, v] of Object.entries(more)) {
    if (k in out && out[k] !== v) out[`${stageId}.${k}`] = v;
    else out[k] = v;
  }
  return out;
}

/** Stages ordered so every stage comes after what it needs; recipe order otherwise. */
function stageOrder(stages: StageSpec[]): StageSpec[] {
  const done = new Set<string>();
  const out: StageSpec[] = [];
  const pending = [...stages];
  while (pending.length > 0) {
    const i = pending.findIndex((s) => s.needs.every((n) => done.has(n)));
    if (i === -1) break; // unreachable after the cycle check
    const [s] = pending.splice(i, 1);
    done.add(s!.id);
    out.push(s!);
  }
  return out;
}
