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
  return { ...imported, check };
}
