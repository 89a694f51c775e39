/**
 * `model: { from: model.onnx }` in the model stage: the ONNX file becomes a
 * standard tfjs artifact (checked against ONNX Runtime on import), cached by
 * the file's content like any `from:` (its digest is in the key through
 * `fileInputs`). An OnnxError becomes a StageConfigError at `from`, so the
 * user sees the recipe line and the ONNX node.
 */
import { relative } from 'node:path';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../plugin.js';
import { OnnxError } from '../../formats/onnx/onnx-error.js';
import { importOnnxSource } from '../../formats/onnx/onnx-source.js';

export async function runOnnxSource(ctx: StageContext, from: string, path: string, dir: string): Promise<{ outputs: Record<string, string>; metrics: Record<string, Json> }> {
  const tf = await ctx.engine.tf();
  let imported;
  try {
    imported = await importOnnxSource(tf, path, from);
  } catch (err) {
    if (err instanceof OnnxError) throw new StageConfigError(`\`from\`: ${err.message}`, ['from'], err.hints);
    throw err;
  }
  const model = imported.model;
  const metrics: Record<string, Json> = {
    source: 'from',
    format: 'onnx',
    from: relative(ctx.recipeDir, path) || '.',
    opset: imported.opset,
    producer: imported.producer,
    softmaxAdded: imported.softmaxAdded,
    layers: model.layers.length,
    params: model.countParams(),
    inputShape: model.inputs.map((i) => i.shape as Json),
    outputShape: model.outputs.map((o) => o.shape as Json),
    onnxRuntimeCheck: imported.check.map((c) => ({ output: c.name, maxAbsDiff: c.maxAbsDiff, relDiff: c.relDiff, argmaxMismatches: c.argmaxMismatches })),
  };
  await ctx.engine.saveModel(model, dir);
  model.dispose();
  return { outputs: { model: dir }, metrics };
}
