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
import { locate, toPlain } from '../recipe/tree.js';
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
      // The chain reads in the direction `needs` is written (findStageCycle walks
      // from a stage to what it needs); say so, since arrows are often read as data flow.
      hints: [
        `read \`${cycle[0]} -> ${cycle[1]}\` as "\`${cycle[0]}\` needs \`${cycle[1]}\`"; remove one of these \`needs\` to break the cycle`,
        'a stage cannot need, directly or through others, a stage that needs it',
      ],
    };
    return fail([d]);
  }

  const byStage = new Map<string, PlanNode[]>();
  const lineages = new Map<string, Lineage>();
  const nodes: PlanNode[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const stage of stageOrder(recipe.stages)) {
    const reg = catalog.get(stage.uses);
    if (!reg) continue; // validation already reported it
    const duplicate = duplicateMatrixValue(stage, recipe);
    if (duplicate) {
      diagnostics.push(duplicate);
      continue;
    }
    const contexts = upstreamContexts(stage, byStage, reg.def.fanIn === true, lineages);
    const own = stage.matrix ? matrixCombinations(stage.matrix) : [{}];
    const made: PlanNode[] = [];
    for (const ctx of contexts) {
      for (const combo of own) {
        const matrix = mergeCombos(ctx.matrix, combo, stage.id);
        const withTree = stage.matrix ? substituteMatrix(stage.withTree, combo, diagnostics) : stage.withTree;
        const config = stage.matrix
          ? checkStageConfig(reg.def.schema as any, toPlain(withTree) as Json, recipe.tree, stage.withPath)
          : { config: stage.with, diagnostics: [] };
        diagnostics.push(...config.diagnostics);
        const id = nodeId(stage.id, matrix);
        lineages.set(id, new Map([...ctx.lineage, [stage.id, id]]));
        made.push({ id, stage, def: reg.def, source: reg.source, matrix, config: config.config, inputs: ctx.inputs });
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

/**
 * Stage id -> the node of that stage a node descends from (itself included).
 * A fan-in node starts a fresh lineage: it has consumed every candidate.
 */
type Lineage = Map<string, string>;

interface Context {
  inputs: string[];
  matrix: MatrixCombo;
  lineage: Lineage;
}

/**
 * One context per combination of upstream candidates (or one with all of them, for fan-in).
 * Candidates that descend from different nodes of the same stage are never combined: in a
 * diamond (`p` swept, `q1` and `q2` both need `p`, `e` needs both) `e` takes `q1` and `q2`
 * of the same `p` candidate. (Fix: a plain cartesian product also paired `q1` of
 * `p[sparsity=0.9]` with `q2` of `p[sparsity=0.8]`, mixing two sweeps in one node
 * labelled `e[sparsity=0.9,q2.sparsity=0.8]`.) Independent sweeps still pair every way.
 */
function upstreamContexts(stage: StageSpec, byStage: Map<string, PlanNode[]>, fanIn: boolean, lineages: Map<string, Lineage>): Context[] {
  const lists = stage.needs.map((n) => byStage.get(n) ?? []);
  if (fanIn) return [{ inputs: lists.flat().map((n) => n.id), matrix: {}, lineage: new Map() }];
  let contexts: Context[] = [{ inputs: [], matrix: {}, lineage: new Map() }];
  for (const list of lists) {
    contexts = contexts.flatMap((c) =>
      list.flatMap((n) => {
        const lineage = joinLineages(c.lineage, lineages.get(n.id) ?? new Map());
        if (!lineage) return [];
        return [{ inputs: [...c.inputs, n.id], matrix: mergeCombos(c.matrix, n.matrix, n.stage.id), lineage }];
      }),
    );
  }
  return contexts;
}

/** The union of two lineages, or undefined when they name different nodes of one stage. */
function joinLineages(a: Lineage, b: Lineage): Lineage | undefined {
  const out = new Map(a);
  for (const [stageId, node] of b) {
    const prev = out.get(stageId);
    if (prev !== undefined && prev !== node) return undefined;
    out.set(stageId, node);
  }
  return out;
}

/**
 * Fix: a matrix list with a value twice as text (`[0.9, 0.9]`, `[1, "1"]`) made two
 * nodes with one id, which `byId`, the cache's node index and the run record
 * cannot tell apart. Node ids are made here, so the check is here.
 */
function duplicateMatrixValue(stage: StageSpec, recipe: ValidatedRecipe): Diagnostic | undefined {
  for (const [key, values] of Object.entries(stage.matrix ?? {})) {
    const seen = new Set<string>();
    for (const [i, value] of values.entries()) {
      const text = String(value);
      if (!seen.has(text)) {
        seen.add(text);
        continue;
      }
      const at = ['stages', stage.index, 'matrix', key, i];
      return {
        code: 'bad-value',
        message: `\`${formatPath(at.slice(0, -1))}\` lists \`${text}\` twice: matrix values become node ids, so they must differ as text`,
        path: formatPath(at),
        loc: locate(recipe.tree, at),
      };
    }
  }
  return undefined;
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
