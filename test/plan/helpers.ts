import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildGraph } from '../../src/plan/graph.js';
import type { PlanGraph } from '../../src/plan/graph.js';
import { StageRegistry } from '../../src/plugin-registry.js';
import { defineStage } from '../../src/plugin.js';
import { loadRecipe } from '../../src/recipe/load-recipe.js';
import { lines, schemaOnlyPrune } from '../recipe/helpers.js';
import type { ValidatedRecipe } from '../../src/recipe/types.js';

/** Temp dirs created through `tempDir()` are removed after each test of the calling file. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mp-plan-'));
    dirs.push(dir);
    return dir;
  };
}

/** Writes `files` (relative name -> text) below `root`. */
export async function writeFiles(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
}

export { lines };

const notRun = async (): Promise<never> => {
  throw new Error('stages are not run by planner tests');
};

/**
 * Real stage definitions with schemas that have defaults, so tests can see
 * defaults applied: `prune`, `quantize` (fan out along with upstream), and
 * `select` (fanIn: true), `evaluate` (no schema).
 */
export function planRegistry(): StageRegistry {
  const registry = new StageRegistry();
  registry.register(schemaOnlyPrune());
  registry.register(
    defineStage({
      name: 'quantize',
      version: '1',
      outputs: ['model'],
      schema: {
        type: 'object',
        additionalProperties: false,
        properties: {
          weights: { enum: ['uint8', 'uint16', 'float16'], default: 'uint8' },
          bits: { type: 'integer', minimum: 1, maximum: 16 },
        },
      },
      run: notRun,
    }),
  );
  registry.register(
    defineStage({
      name: 'select',
      version: '1',
      outputs: ['model'],
      fanIn: true,
      schema: {
        type: 'object',
        additionalProperties: false,
        properties: { metric: { type: 'string', default: 'accuracy' } },
      },
      run: notRun,
    }),
  );
  registry.register(defineStage({ name: 'evaluate', version: '1', outputs: [], run: notRun }));
  return registry;
}

/** Writes `r.yaml` into `dir` and loads it (diagnostics named relative to `dir`). */
export async function load(dir: string, yaml: string, registry = planRegistry()): Promise<ValidatedRecipe> {
  await writeFiles(dir, { 'r.yaml': yaml });
  const loaded = await loadRecipe(join(dir, 'r.yaml'), { registry, cwd: dir });
  if (!loaded.ok) throw new Error(`recipe did not load:\n${lines(loaded.diagnostics).join('\n')}`);
  return loaded.value;
}

/** Loads `r.yaml` and builds its graph; throws when either phase reports diagnostics. */
export async function graphOf(dir: string, yaml: string, registry = planRegistry()): Promise<PlanGraph> {
  const recipe = await load(dir, yaml, registry);
  const graph = buildGraph(recipe, registry);
  if (!graph.ok) throw new Error(`graph failed:\n${lines(graph.diagnostics).join('\n')}`);
  return graph.value;
}

export const HEAD = 'version: 1\nname: demo\n';
