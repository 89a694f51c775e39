/**
 * `modelpress plan <recipe>`: the graph in execution order, its edges, and
 * for every node whether it is cached or will run and why. The prediction is
 * the library's `plan()` (src/api/plan.ts); this file only prints it.
 */
import { plan } from '../../api/plan.js';
import { BACKEND_NAMES } from '../../engine/backend.js';
import type { BackendName } from '../../engine/backend.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { formatDiagnostics } from '../print-diagnostics.js';

export interface PlanOptions {
  set: string[];
  cacheDir?: string;
  json: boolean;
  /** Predict for this backend (as `run --backend` would use). */
  backend?: string;
}

export async function planCommand(recipePath: string, opts: PlanOptions, io: Io): Promise<number> {
  // Checked here with the flag's name: the library would throw a TypeError naming its option.
  if (opts.backend !== undefined && !BACKEND_NAMES.includes(opts.backend as BackendName)) {
    io.err(`modelpress plan: --backend expects one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(opts.backend)}\n`);
    return EXIT.invalid;
  }
  const result = await plan(recipePath, {
    set: opts.set,
    cwd: io.cwd,
    env: io.env,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.backend ? { backend: opts.backend as BackendName } : {}),
  });
  if (!result.ok) {
    io.err(formatDiagnostics(result.diagnostics, recipePath));
    return EXIT.invalid;
  }
  const { recipe, cacheDir, nodes } = result.value;
  if (opts.json) {
    io.out(`${JSON.stringify({ recipe: recipe.name, cacheDir, nodes: nodes.map(({ id, stage, uses, inputs, status, key, reasons }) => ({ id, stage, uses, inputs, status, key, reasons })) }, null, 2)}\n`);
    return EXIT.ok;
  }
  io.out(`plan for ${recipe.name} (${nodes.length} nodes, cache ${cacheDir})\n`);
  nodes.forEach((n, i) => {
    const from = n.inputs.length > 0 ? ` <- ${n.inputs.join(', ')}` : '';
    const status = n.status === 'cached' ? 'cached' : `run    (${n.reasons.join('; ')})`;
    io.out(`${String(i + 1).padStart(3)}. ${n.id} [${n.uses}]${from}\n       ${status}\n`);
  });
  const toRun = nodes.filter((n) => n.status === 'run').length;
  io.out(`${toRun} to run, ${nodes.length - toRun} cached\n`);
  return EXIT.ok;
}
