/**
 * `modelpress plan <recipe>`: the graph in execution order, its edges, and
 * for every node whether it is cached or will run and why.
 */
import { chooseBackend } from '../../engine/backend.js';
import type { BackendName } from '../../engine/backend.js';
import { buildKeyContext } from '../../plan/key-context.js';
import { predict } from '../../plan/predict.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { openStore, prepareWithData } from './prepare.js';

export interface PlanOptions {
  set: string[];
  cacheDir?: string;
  json: boolean;
  /** Predict for this backend (as `run --backend` would use). */
  backend?: string;
}

export async function planCommand(recipePath: string, opts: PlanOptions, io: Io): Promise<number> {
  const prepared = await prepareWithData(recipePath, opts.set, io);
  if (!prepared) return EXIT.invalid;
  const { recipe, graph } = prepared;
  const store = openStore(opts.cacheDir, recipePath, io);
  const keys = await buildKeyContext(recipe, chooseBackend(opts.backend as BackendName | undefined), prepared.dataFingerprints, graph);
  const predictions = await predict(graph, { store, scope: recipe.file, keys });
  if (opts.json) {
    const nodes = predictions.map((p) => ({
      id: p.node.id,
      stage: p.node.stage.id,
      uses: p.node.def.name,
      inputs: p.node.inputs,
      status: p.status,
      key: p.key ?? null,
      reasons: p.status === 'run' ? p.reasons : [],
    }));
    io.out(`${JSON.stringify({ recipe: recipe.name, cacheDir: store.dir, nodes }, null, 2)}\n`);
    return EXIT.ok;
  }
  io.out(`plan for ${recipe.name} (${graph.nodes.length} nodes, cache ${store.dir})\n`);
  predictions.forEach((p, i) => {
    const from = p.node.inputs.length > 0 ? ` <- ${p.node.inputs.join(', ')}` : '';
    const status = p.status === 'cached' ? 'cached' : `run    (${p.reasons.join('; ')})`;
    io.out(`${String(i + 1).padStart(3)}. ${p.node.id} [${p.node.def.name}]${from}\n       ${status}\n`);
  });
  const toRun = predictions.filter((p) => p.status === 'run').length;
  io.out(`${toRun} to run, ${predictions.length - toRun} cached\n`);
  return EXIT.ok;
}
