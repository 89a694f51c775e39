/**
 * The recipe's `model: { from: model.onnx }`: import, check against ONNX
 * Runtime, and hand back a tfjs model the model stage saves as its artifact.
 * The check runs on every import (seeded random inputs, the file's batch):
 * an import that does not match is refused, never passed on.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Tf } from '../../engine/tf.js';
import type { OutputComparison } from './compare-runtimes.js';
import { compareWithOnnxRuntime } from './compare-runtimes.js';
import type { OnnxImportOptions, OnnxImportResult } from './import-onnx.js';
import { importOnnxBytes } from './import-onnx.js';
import { OnnxError } from './onnx-error.js';

/**
 * True when `path` is an ONNX file: a `.onnx` name, or any file that is not
 * a `.json` (a tfjs model is a directory or its model.json). No `format:`
 * key: `model:` takes exactly one of `from` and `build`, and the file says
 * what it is.
 */
export async function isOnnxSource(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.onnx')) return true;
  const s = await stat(path).catch(() => undefined);
  return s !== undefined && s.isFile() && !path.toLowerCase().endsWith('.json');
}

export interface OnnxSourceResult extends OnnxImportResult {
  check: OutputComparison[];
  /** True when a Softmax layer was appended to a logits output (see `withSoftmax`). */
  softmaxAdded: boolean;
}

/**
 * PyTorch classifiers end in logits (nn.CrossEntropyLoss applies the
 * softmax); modelpress's training loop, like Keras, expects a model that
 * ends in softmax and computes cross-entropy on probabilities. So a single
 * 2-D output that is not already a softmax gets a Softmax layer: the argmax,
 * hence accuracy, is unchanged, and fine-tuning trains the right loss. The
 * ONNX Runtime check runs before, on the logits the file defines.
 */
export function withSoftmax(tf: Tf, imported: OnnxImportResult): { model: OnnxImportResult['model']; added: boolean } {
  const model = imported.model;
  const last = model.outputs[0]!;
  const lastLayer = model.layers[model.layers.length - 1]!;
  const isSoftmax = lastLayer.getClassName() === 'Softmax' || (lastLayer.getConfig() as { activation?: string }).activation === 'softmax';
  if (model.outputs.length !== 1 || last.shape.length !== 2 || isSoftmax) return { model, added: false };
  const probs = tf.layers.softmax({ name: 'onnx_output_softmax' }).apply(last);
  return { model: tf.model({ inputs: model.inputs, outputs: probs as typeof last, name: model.name }), added: true };
}

/**
 * Reads `path` (named `shownAs` in messages), imports it and compares it
 * with ONNX Runtime. Throws OnnxError for a file that cannot be imported or
 * an import that does not match.
 */
export async function importOnnxSource(tf: Tf, path: string, shownAs: string, options: OnnxImportOptions = {}): Promise<OnnxSourceResult> {
  const bytes = new Uint8Array(await readFile(path));
  const imported = importOnnxBytes(tf, bytes, shownAs, options);
  const check = await compareWithOnnxRuntime(tf, bytes, imported, { seed: 1 });
  const bad = check.find((c) => !c.ok);
  if (bad) {
    imported.model.dispose();
    throw new OnnxError(
      `the imported model does not match ONNX Runtime on output ${JSON.stringify(bad.name)}: max |difference| ${bad.maxAbsDiff.toExponential(2)} is ${bad.relDiff.toExponential(2)} of the output scale (allowed 1e-4), ${bad.argmaxMismatches} argmax mismatches`,
      { file: shownAs },
      ['this is a modelpress bug: please report it with the .onnx file; `modelpress inspect` shows the mapping of each node'],
    );
  }
  const { model, added } = withSoftmax(tf, imported);
  return { ...imported, model, check, softmaxAdded: added };
}
