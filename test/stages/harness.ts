/**
 * Runs a stage's `run()` in-process with a real StageContext: the real
 * engine (tfjs on wasm with our training kernels), real MNIST through the
 * loader registry, real directories. For unit tests of one stage; the CLI
 * tests cover the worker-thread path.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerBuiltinLoaders } from '../../src/data/builtin.js';
import { DatasetRegistry } from '../../src/data/loader.js';
import { createEngine } from '../../src/engine/engine.js';
import type { Engine } from '../../src/engine/engine.js';
import type { BackendName } from '../../src/engine/backend.js';
import type { ArtifactRef, Json, StageContext, StageDefinition, StageInputs, StageProgress, StageResult } from '../../src/plugin.js';
import { createDataAccess } from '../../src/run/data-access.js';
import { checkStageConfig } from '../../src/recipe/validate.js';
import { digestDirectory } from '../../src/cache/index.js';
import type { TreeNode } from '../../src/recipe/tree.js';

/** Small MNIST slices: enough to learn something in a second or two. */
export const SMALL_MNIST: Record<string, Json> = {
  train: { uses: 'mnist', split: 'train', limit: 2000, flatten: true },
  test: { uses: 'mnist', split: 'test', limit: 500, flatten: true },
  train2d: { uses: 'mnist', split: 'train', limit: 1000 },
  test2d: { uses: 'mnist', split: 'test', limit: 300 },
};

export interface Harness {
  dir: string;
  engine: Engine;
  ctx(node?: string): StageContext & { progressEvents: StageProgress[]; logs: string[] };
  /** Applies the stage's schema defaults (and validation) to `config`, then runs it. */
  run(stage: StageDefinition<any>, config: Record<string, Json>, inputs?: StageInputs, node?: string): Promise<StageResult>;
  /** An ArtifactRef for a model directory (for `inputs.model`). */
  artifact(dir: string): Promise<ArtifactRef>;
  cleanup(): Promise<void>;
}

/** `backend`: the engine's backend (default wasm). */
export async function createHarness(opts: { seed?: number; data?: Record<string, Json>; model?: Json; backend?: BackendName } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-stage-'));
  const seed = opts.seed ?? 1;
  const engine = createEngine(opts.backend ?? 'wasm', seed);
  const loaders = new DatasetRegistry();
  registerBuiltinLoaders(loaders);
  const dataSpecs = opts.data ?? SMALL_MNIST;
  const data = createDataAccess(dataSpecs, dir, loaders);
  let n = 0;
  const ctx = (node = `node${++n}`) => {
    const scratchDir = join(dir, 'work', node);
    const progressEvents: StageProgress[] = [];
    const logs: string[] = [];
    return {
      node,
      stageId: node,
      seed,
      recipeDir: dir,
      recipe: { ...(opts.model !== undefined ? { model: opts.model } : {}), data: dataSpecs, devices: {} },
      scratchDir,
      async outputDir(name: string) {
        const d = join(scratchDir, 'outputs', name);
        await mkdir(d, { recursive: true });
        return d;
      },
      logger: {
        debug: (m: string) => logs.push(`debug ${m}`),
        info: (m: string) => logs.push(`info ${m}`),
        warn: (m: string) => logs.push(`warn ${m}`),
      },
      progress: (p: StageProgress) => progressEvents.push(p),
      signal: new AbortController().signal,
      engine,
      data,
      progressEvents,
      logs,
    };
  };
  const emptyTree: TreeNode = { kind: 'map', loc: { file: 'test', line: 1, column: 1, sourceLine: '', length: 1 }, entries: new Map() };
  return {
    dir,
    engine,
    ctx,
    async run(stage, config, inputs = { upstream: [] }, node) {
      const checked = checkStageConfig(stage.schema as never, config, emptyTree, []);
      if (checked.diagnostics.length > 0) throw new Error(`invalid config: ${checked.diagnostics.map((d) => d.message).join('; ')}`);
      const c = ctx(node);
      await mkdir(c.scratchDir, { recursive: true });
      return stage.run(c, checked.config, inputs);
    },
    async artifact(modelDir) {
      return { dir: modelDir, digest: (await digestDirectory(modelDir)).digest };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Convenience: `inputs` with one upstream model. */
export function modelInput(ref: ArtifactRef): StageInputs {
  return { upstream: [{ node: 'up', stage: 'up', matrix: {}, outputs: { model: ref }, metrics: {} }], model: ref };
}
