/**
 * `plan()` of the library API: the graph in execution order and, per node,
 * whether `run()` will take it from the cache or run it, and why. The same
 * prediction `modelpress plan` prints.
 */
import { chooseBackend } from '../engine/backend.js';
import type { BackendName } from '../engine/backend.js';
import type { PlanGraph } from '../plan/graph.js';
import { buildKeyContext } from '../plan/key-context.js';
import { predict } from '../plan/predict.js';
import type { Result } from '../recipe/diagnostic.js';
import type { ValidatedRecipe } from '../recipe/types.js';
import { expectBackend, expectObject, expectString, expectStrings } from './options.js';
import { openCache, prepareWithFingerprints } from './prepare.js';
import type { PrepareOptions } from './prepare.js';

export interface PlanOptions extends PrepareOptions {
  /** Cache directory. Default: `$MODELPRESS_CACHE_DIR`, else the project's `node_modules/.cache/modelpress` (nearest package.json), else `.modelpress/cache` next to the recipe. */
  cacheDir?: string;
  /** Predict for this backend (it is part of every key). Default: the one `run()` would choose. */
  backend?: BackendName;
  /** Environment read for `MODELPRESS_CACHE_DIR`. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** One node of the plan, in execution order. */
export interface PlannedNode {
  /** Node id, e.g. `prune[sparsity=0.9]`. */
  id: string;
  /** The recipe stage id. */
  stage: string;
  /** The stage's `uses:` name. */
  uses: string;
  /** Ids of the nodes it takes inputs from. */
  inputs: string[];
  status: 'cached' | 'run';
  /** The cache key, when it is known before running (every upstream node cached). */
  key: string | null;
  /** Why it runs (empty when cached). */
  reasons: string[];
}

export interface RecipePlan {
  recipe: ValidatedRecipe;
  graph: PlanGraph;
  backend: BackendName;
  cacheDir: string;
  nodes: PlannedNode[];
}

export async function plan(recipePath: string, options: PlanOptions = {}): Promise<Result<RecipePlan>> {
  expectString('recipePath', recipePath);
  expectObject('options', options);
  expectStrings('set', options.set);
  expectString('cwd', options.cwd);
  expectString('cacheDir', options.cacheDir);
  expectBackend(options.backend);
  const cwd = options.cwd ?? process.cwd();
  const prepared = await prepareWithFingerprints(recipePath, { ...options, cwd });
  if (!prepared.ok) return prepared;
  const { recipe, graph, dataFingerprints } = prepared.value;
  const store = openCache({ ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}), recipeFile: recipePath, cwd, env: options.env ?? process.env });
  const backend = chooseBackend(options.backend);
  const keys = await buildKeyContext(recipe, backend, dataFingerprints, graph);
  const predictions = await predict(graph, { store, scope: recipe.file, keys });
  const nodes = predictions.map(
    (p): PlannedNode => ({
      id: p.node.id,
      stage: p.node.stage.id,
      uses: p.node.def.name,
      inputs: p.node.inputs,
      status: p.status,
      key: p.key ?? null,
      reasons: p.status === 'run' ? p.reasons : [],
    }),
  );
  return { ok: true, value: { recipe, graph, backend, cacheDir: store.dir, nodes } };
}
