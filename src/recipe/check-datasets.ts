/**
 * Datasets named by stages must be declared under `data:`.
 *
 * A stage reads datasets by name at run time (`ctx.data(name)`), so without
 * this check an undeclared name (a typo, or a default such as evaluate's
 * `test` that the recipe never declared) fails only when that stage starts:
 * after every upstream stage has trained. Each stage definition says which
 * `with:` keys name datasets for a given config (`StageDefinition.datasets`),
 * which is how plugin stages get the same check.
 */
import type { StageDefinition, Json } from '../plugin.js';
import type { Diagnostic, PathSegment } from './diagnostic.js';
import { formatPath } from './diagnostic.js';
import { didYouMean, listCode } from './suggest.js';
import type { TreeNode } from './tree.js';
import { locate, nodeAt } from './tree.js';

export interface DatasetCheck {
  /** The stage's id, for messages about names that come from defaults. */
  stageId: string;
  /** The stage's `with:` after defaults (one matrix combination, substituted). */
  config: Record<string, Json>;
  /** The recipe tree the config was read from (the combination's tree for matrix stages). */
  tree: TreeNode;
  /** Path of the stage entry in the recipe (`['stages', 2]`). */
  stagePath: PathSegment[];
  /** Names declared under `data:`; undefined when the recipe has no `data:` section. */
  declared: readonly string[] | undefined;
}

/** Diagnostics for every dataset `def` reads with `config` that `data:` does not declare. */
export function checkStageDatasets(def: Pick<StageDefinition<any>, 'datasets'>, c: DatasetCheck): Diagnostic[] {
  if (!def.datasets) return [];
  const out: Diagnostic[] = [];
  for (const rel of def.datasets(c.config)) {
    const name = valueAt(c.config, rel);
    if (typeof name !== 'string') continue; // absent or mistyped: the schema reports it
    if (c.declared?.includes(name)) continue;
    const path = [...c.stagePath, 'with', ...rel];
    const written = nodeAt(c.tree, path) !== undefined;
    const where = written
      ? `\`${formatPath(path)}\` names dataset \`${name}\``
      : `stage \`${c.stageId}\` reads dataset \`${name}\` (the default of \`${formatPath(['with', ...rel])}\`)`;
    const missing = c.declared === undefined ? 'the recipe declares no `data:`' : `\`data:\` declares no \`${name}\`${didYouMean(name, c.declared)}`;
    out.push({
      code: 'unknown-dataset',
      message: `${where}, but ${missing}`,
      path: formatPath(path),
      // A default has no text of its own: point at the stage's `uses`, where it comes from.
      loc: written ? locate(c.tree, path) : locate(c.tree, [...c.stagePath, 'uses']),
      hints: [
        c.declared === undefined || c.declared.length === 0 ? `declare it, e.g. \`data: { ${name}: { uses: mnist, split: test } }\`` : `declared datasets: ${listCode(c.declared)}`,
        ...(written ? [] : [`or set \`${formatPath(['with', ...rel])}\` to a declared dataset`]),
      ],
    });
  }
  return out;
}

function valueAt(config: Json, path: readonly PathSegment[]): Json | undefined {
  let cur: Json | undefined = config;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (typeof seg === 'number' ? cur[seg] : undefined) : cur[String(seg)];
  }
  return cur;
}
