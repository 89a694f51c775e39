/**
 * `export format: onnx`: the upstream model written as model.onnx and run
 * beside ONNX Runtime before it is published; an export that does not match
 * fails the stage instead of shipping a wrong model.
 */
import { writeFile } from 'node:fs/promises';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../plugin.js';
import { compareExportWithOnnxRuntime } from '../../formats/onnx/compare-runtimes.js';
import { exportOnnx } from '../../formats/onnx/export-onnx.js';
import { OnnxError } from '../../formats/onnx/onnx-error.js';

export const ONNX_FILENAME = 'model.onnx';

/** Writes `file` from the model in `modelDir`; returns the ONNX Runtime check per output. */
export async function writeOnnxExport(ctx: StageContext, modelDir: string, file: string): Promise<Json> {
  const tf = await ctx.engine.tf();
  const model = await ctx.engine.loadModel(modelDir);
  try {
    let bytes: Uint8Array;
    try {
      bytes = exportOnnx(model, ONNX_FILENAME);
    } catch (err) {
      if (err instanceof OnnxError) throw new StageConfigError(`\`format: onnx\`: ${err.message}`, ['format'], err.hints);
      throw err;
    }
    const checks = await compareExportWithOnnxRuntime(tf, model, bytes, { seed: ctx.seed });
    const bad = checks.find((c) => !c.ok);
    if (bad) throw new Error(`the ONNX export differs from the tfjs model on ${bad.name}: ${bad.relDiff.toExponential(2)} of the output scale (allowed 1e-4), ${bad.argmaxMismatches} argmax mismatches`);
    await writeFile(file, bytes);
    return checks.map((c) => ({ output: c.name, maxAbsDiff: c.maxAbsDiff, relDiff: c.relDiff, argmaxMismatches: c.argmaxMismatches }));
  } finally {
    model.dispose();
  }
}
