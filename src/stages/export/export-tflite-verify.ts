/**
 * `tflite.verify`: the exported file run by the real TFLite interpreter
 * (tfjs-tflite's wasm build in headless Chromium, src/browser/tflite-session.ts)
 * on a recipe dataset, compared with modelpress's own simulation of the
 * same file (argmax agreement, difference in quantization steps) and with
 * the labels (accuracy measured by the interpreter). The float32 file is
 * run too, so the int8 accuracy drop is measured in the same runtime.
 */
import type { Dataset } from '../../data/dataset.js';
import { TfliteSession } from '../../browser/tflite-session.js';
import { compareWithSimulation, inputsForGraph } from '../../formats/tflite/agreement.js';
import type { Agreement } from '../../formats/tflite/agreement.js';
import type { TfliteExport } from '../../formats/tflite/export-tflite.js';
import type { TfliteGraph } from '../../formats/tflite/graph.js';

export interface TfliteVerification {
  dataset: string;
  /** The shipped file (int8 or float32) in the interpreter vs the simulation. */
  exported: Agreement;
  /** The float32 file in the interpreter (only for int8 exports). */
  float32?: Agreement;
  /** Interpreter accuracy of the float32 file minus that of the int8 file, in percentage points. */
  accuracyDropPp?: number;
}

function concat(parts: (Float32Array | Int8Array)[]): Float32Array | Int8Array {
  const out = parts[0] instanceof Int8Array ? new Int8Array(parts.length * parts[0].length) : new Float32Array(parts.length * (parts[0]?.length ?? 0));
  parts.forEach((p, i) => out.set(p, i * p.length));
  return out;
}

async function runOne(session: TfliteSession, bytes: Uint8Array, graph: TfliteGraph, examples: Float32Array[], labels: Int32Array, threads: number): Promise<Agreement> {
  const inputs = inputsForGraph(graph, examples);
  const model = await session.load(bytes, threads);
  try {
    const outputs = await model.run(concat(inputs), inputs.length);
    return compareWithSimulation(graph, inputs, outputs, labels);
  } finally {
    await model.release();
  }
}

/** Runs the verification on up to `samples` examples of `data` (the first ones). Throws BrowserUnavailableError without Chromium. */
export async function verifyInInterpreter(exported: TfliteExport, data: Dataset, options: { samples?: number; threads?: number } = {}): Promise<TfliteVerification> {
  const count = Math.min(options.samples ?? data.count, data.count);
  const per = data.shape.reduce((a, b) => a * b, 1);
  const examples = Array.from({ length: count }, (_, i) => data.x.subarray(i * per, (i + 1) * per));
  const labels = data.y.subarray(0, count);
  const session = await TfliteSession.open();
  try {
    const threads = options.threads ?? 1;
    const shipped = exported.int8Graph ?? exported.floatGraph;
    const result: TfliteVerification = { dataset: data.name, exported: await runOne(session, exported.bytes, shipped, examples, labels, threads) };
    if (exported.int8Graph) {
      result.float32 = await runOne(session, exported.floatBytes, exported.floatGraph, examples, labels, threads);
      result.accuracyDropPp = result.float32.runtimeAccuracy - result.exported.runtimeAccuracy;
    }
    return result;
  } finally {
    await session.close();
  }
}
