/**
 * The worker thread's main module: rebuild the stage registry (built-ins and
 * the recipe's plugins), run one stage, report back. Running each stage in
 * its own worker gives two independent branches two cores, and a stage that
 * crashes or runs out of memory takes down only its worker.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { registerBuiltinLoaders } from '../data/builtin.js';
import { DatasetRegistry } from '../data/loader.js';
import { createEngine } from '../engine/engine.js';
import { stageCode } from '../plan/stage-code.js';
import { StageRegistry } from '../plugin-registry.js';
import type { RegisteredStage } from '../plugin-registry.js';
import type { StageContext } from '../plugin.js';
import { registerBuiltinStages } from '../stages/builtin.js';
import { createDataAccess } from './data-access.js';
import { serializeError } from './stage-failure.js';
import type { ParentMessage, WorkerMessage, WorkerTask } from './worker-protocol.js';

const port = parentPort!;
const task = workerData as WorkerTask;
const send = (m: WorkerMessage) => port.postMessage(m);
const abort = new AbortController();
port.on('message', (m: ParentMessage) => {
  if (m.type === 'abort') abort.abort(new Error(m.reason === 'timeout' ? 'stage timed out' : 'run interrupted'));
});

function loaders(): DatasetRegistry {
  const registry = new DatasetRegistry();
  registerBuiltinLoaders(registry);
  return registry;
}

/**
 * The code on disk may have changed since the run was planned (dist/ rebuilt,
 * a plugin edited): a worker loads it afresh, the cache key was computed from
 * what was on disk at start. Running anyway would cache a result under a key
 * that does not describe the code that made it. The digest is the planner's
 * own function (stage-code.ts), so the two cannot disagree on what "the same
 * code" means.
 */
async function checkSameCode(stage: RegisteredStage): Promise<void> {
  const { version } = stage.def;
  const { source } = stage;
  const changed = 'changed on disk after this run started';
  if (version !== task.expect.version) {
    throw new Error(
      `stage \`${task.uses}\` is version ${version} in the code on disk but was version ${task.expect.version} when this run was planned: ` +
        `its code ${changed} (was dist/ rebuilt or a plugin edited?); run the recipe again`,
    );
  }
  if ((await stageCode(stage, task.recipeDir)).digest === task.expect.code) return;
  if (source === 'builtin') {
    throw new Error(`the code of built-in stage \`${task.uses}\` (or of what it imports) ${changed} (was dist/ rebuilt?); run the recipe again`);
  }
  throw new Error(`plugin ${source}, which defines stage \`${task.uses}\`, ${changed}; run the recipe again`);
}

async function main(): Promise<void> {
  const registry = new StageRegistry();
  const engine = createEngine(task.backend, task.seed);
  let def;
  try {
    registerBuiltinStages(registry);
    // A plugin's stage: tfjs on the run's backend before any plugin module is
    // imported. A plugin that imports '@tensorflow/tfjs' itself shares this
    // tfjs instance and must compute on the backend its cache key records, not
    // on whichever one tfjs would settle on by itself. Built-in stages reach
    // tfjs only through ctx.engine, so for them the load stays lazy (it costs
    // seconds on a busy machine).
    if (task.plugins.length > 0 && !registry.get(task.uses)) await engine.tf();
    for (const spec of task.plugins) await registry.loadPlugin(spec, task.recipeDir);
    const registered = registry.get(task.uses);
    if (!registered) throw new Error(`no stage \`${task.uses}\` is registered in the worker`);
    def = registered.def;
    await checkSameCode(registered);
  } catch (err) {
    send({ type: 'error', phase: 'load', error: serializeError(err) });
    return;
  }
  const ctx: StageContext = {
    node: task.node,
    stageId: task.stageId,
    seed: task.seed,
    recipeDir: task.recipeDir,
    recipe: task.recipe,
    scratchDir: task.scratchDir,
    async outputDir(name: string) {
      const dir = join(task.scratchDir, 'outputs', name);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    logger: {
      debug: (message, fields) => send({ type: 'log', level: 'debug', message, ...(fields ? { fields } : {}) }),
      info: (message, fields) => send({ type: 'log', level: 'info', message, ...(fields ? { fields } : {}) }),
      warn: (message, fields) => send({ type: 'log', level: 'warn', message, ...(fields ? { fields } : {}) }),
    },
    progress: (progress) => send({ type: 'progress', progress }),
    signal: abort.signal,
    engine,
    data: createDataAccess(task.recipe.data, task.recipeDir, loaders()),
  };
  try {
    const result = await def.run(ctx, task.config, task.inputs);
    send({ type: 'done', result });
  } catch (err) {
    send({ type: 'error', phase: 'run', error: serializeError(err) });
  }
}

await main();
// Close the port so the worker exits even if a stage left timers behind.
port.close();
