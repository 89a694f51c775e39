/**
 * Helpers for the evaluate stage tests: a StageContext with devices (the
 * shared harness declares none), a small trained MLP, a magnitude-pruned copy
 * of it, and upstream entries.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRef, Json, StageDefinition, StageInputs, StageResult, UpstreamOutputs } from '../../../src/plugin.js';
import { checkStageConfig } from '../../../src/recipe/validate.js';
import type { TreeNode } from '../../../src/recipe/tree.js';
import { trainStage } from '../../../src/stages/train/train.js';
import type { Harness } from '../harness.js';

const emptyTree: TreeNode = { kind: 'map', loc: { file: 'test', line: 1, column: 1, sourceLine: '', length: 1 }, entries: new Map() };

/** Runs `stage` like `h.run`, with `devices` as the recipe's `devices:`. */
export async function runWithDevices(
  h: Harness,
  stage: StageDefinition<any>,
  config: Record<string, Json>,
  inputs: StageInputs,
  devices: Record<string, Json>,
): Promise<StageResult & { logs: string[] }> {
  const checked = checkStageConfig(stage.schema as never, config, emptyTree, []);
  if (checked.diagnostics.length > 0) throw new Error(`invalid config: ${checked.diagnostics.map((d) => d.message).join('; ')}`);
  const base = h.ctx();
  const ctx = { ...base, recipe: { ...base.recipe, devices } };
  await mkdir(ctx.scratchDir, { recursive: true });
  const r = await stage.run(ctx, checked.config, inputs);
  return { ...r, logs: base.logs };
}

/** Trains an MLP [16] on the harness's MNIST slice (the harness must be created with that `model`). */
export async function trainSmallMlp(h: Harness): Promise<ArtifactRef> {
  const r = await h.run(trainStage, { data: 'train', epochs: 2, batchSize: 64 });
  return h.artifact(r.outputs.model!);
}

/** A copy of `ref` with the smallest-magnitude `sparsity` fraction of every kernel set to 0. */
export async function prunedCopy(h: Harness, ref: ArtifactRef, sparsity: number, name: string): Promise<ArtifactRef> {
  const tf = await h.engine.tf();
  const model = await h.engine.loadModel(ref.dir);
  try {
    for (const layer of model.layers) {
      const ws = layer.getWeights();
      if (ws.length === 0) continue;
      const kernel = ws[0]!;
      const values = kernel.dataSync() as Float32Array;
      const sorted = Float32Array.from(values, Math.abs).sort();
      const cut = sorted[Math.min(sorted.length - 1, Math.floor(sparsity * sorted.length))]!;
      const zeroed = values.map((v) => (Math.abs(v) < cut ? 0 : v));
      const next = tf.tensor(zeroed, kernel.shape);
      layer.setWeights([next, ...ws.slice(1)]);
      next.dispose();
    }
    const dir = join(h.dir, 'models', name);
    await h.engine.saveModel(model, dir);
    return h.artifact(dir);
  } finally {
    model.dispose();
  }
}

export function upstream(node: string, stage: string, model: ArtifactRef, matrix: UpstreamOutputs['matrix'] = {}): UpstreamOutputs {
  return { node, stage, matrix, outputs: { model }, metrics: {} };
}

export function inputsOf(...ups: UpstreamOutputs[]): StageInputs {
  const first = ups.find((u) => u.outputs.model)?.outputs.model;
  return { upstream: ups, ...(first ? { model: first } : {}) };
}
