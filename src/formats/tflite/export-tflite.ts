/**
 * A LayersModel as .tflite bytes: the float32 graph, and for `int8` the
 * graph calibrated on example inputs and quantized (quantize.ts). Returns
 * both files' bytes (the float32 one is what the int8 size is compared
 * with) and the graphs, so a caller can run modelpress's int8 simulation
 * (reference.ts) next to the interpreter.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { graphFromLayers } from './from-layers.js';
import type { TfliteGraph } from './graph.js';
import { calibrate, quantizeGraph } from './quantize.js';
import type { QuantizeOptions } from './quantize.js';
import { TfliteExportError } from './tflite-error.js';
import { writeTflite } from './writer.js';

export interface TfliteExportOptions extends QuantizeOptions {
  /** `int8`: full-integer quantization (needs `calibration`); `float32`: weights and activations as trained. Default: int8. */
  quantize?: 'int8' | 'float32';
  /** Example inputs for calibrating activation ranges (each one example's values). Required for int8. */
  calibration?: readonly Float32Array[];
  /** Model.description. Default: 'modelpress'. */
  description?: string;
}

export interface TfliteExport {
  /** The file to ship: int8 or float32 as asked. */
  bytes: Uint8Array;
  /** The float32 file (the same as `bytes` for float32). */
  floatBytes: Uint8Array;
  floatGraph: TfliteGraph;
  /** The int8 graph (undefined for float32). */
  int8Graph?: TfliteGraph;
}

/**
 * Converts `model`. @throws TfliteExportError (unsupported layer or option, several inputs or outputs)
 * before anything is written; TypeError "Expected X, got Y" for bad options.
 */
export function exportTflite(model: LayersModel, options: TfliteExportOptions = {}): TfliteExport {
  const quantize = options.quantize ?? 'int8';
  if (quantize !== 'int8' && quantize !== 'float32') throw new TypeError(`Expected quantize to be 'int8' or 'float32', got ${JSON.stringify(quantize)}`);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new TfliteExportError(model.name, 'Model', `model ${model.name} has ${model.inputs.length} input(s) and ${model.outputs.length} output(s); the TFLite exporter supports one of each`);
  }
  const floatGraph = graphFromLayers(model);
  const floatBytes = writeTflite(floatGraph, options.description);
  if (quantize === 'float32') return { bytes: floatBytes, floatBytes, floatGraph };
  const examples = options.calibration ?? [];
  if (examples.length === 0) throw new TypeError('Expected calibration examples for int8, got none');
  const int8Graph = quantizeGraph(floatGraph, calibrate(floatGraph, examples.map((e) => [e]), options), options);
  return { bytes: writeTflite(int8Graph, options.description), floatBytes, floatGraph, int8Graph };
}
