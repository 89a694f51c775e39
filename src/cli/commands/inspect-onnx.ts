/**
 * `modelpress inspect <model.onnx>`: the ONNX part of `inspect` (graph,
 * per-node mapping, ONNX Runtime comparison; src/formats/onnx/inspect-onnx.ts).
 * Exit 0 when the import matches, 1 when it is refused or differs, 2 when
 * the file cannot be read as ONNX.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { chooseBackend } from '../../engine/backend.js';
import { loadTf } from '../../engine/tf.js';
import { formatOnnxInspection, inspectOnnx } from '../../formats/onnx/inspect-onnx.js';
import { OnnxError } from '../../formats/onnx/onnx-error.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';

export interface InspectOnnxCommandOptions {
  /** Print the inspection as JSON. Default: false. */
  json?: boolean;
  /** Seed of the random inputs. Default: 1. */
  seed?: number;
}

export async function inspectOnnxCommand(file: string, opts: InspectOnnxCommandOptions, io: Io): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(resolve(io.cwd, file)));
  } catch (err) {
    io.err(`${file}: cannot read: ${(err as Error).message}\n`);
    return EXIT.invalid;
  }
  const tf = await loadTf(chooseBackend());
  try {
    const r = await inspectOnnx(tf, bytes, file, { seed: opts.seed });
    if (opts.json) {
      const { error, ...rest } = r;
      io.out(`${JSON.stringify({ ...rest, ...(error ? { error: { message: error.message, location: error.location, hints: error.hints } } : {}) }, null, 2)}\n`);
    } else {
      io.out(formatOnnxInspection(r));
    }
    return r.error || r.comparison?.some((c) => !c.ok) ? EXIT.stageFailed : EXIT.ok;
  } catch (err) {
    if (!(err instanceof OnnxError)) throw err;
    io.err(`${err.message}\n${err.hints.map((h) => `  = ${h}\n`).join('')}`);
    return EXIT.invalid;
  }
}
