/**
 * Calibration and the int8 parameters: min/max vs percentile ranges, ranges
 * widened to include 0 with an integer zero point, and the options' "Expected
 * X, got Y" errors.
 */
import type { TfliteGraph } from '../../../src/formats/tflite/graph.js';
import { activationParams, calibrate, quantizeGraph } from '../../../src/formats/tflite/quantize.js';
import { exportTflite } from '../../../src/formats/tflite/export-tflite.js';
import { TfliteExportError } from '../../../src/formats/tflite/tflite-error.js';
import { loadTf } from '../../../src/engine/tf.js';

/** One RESHAPE [1, 4] -> [1, 4]: calibration sees the input and the output. */
function reshape(): TfliteGraph {
  return {
    tensors: [
      { name: 'x', shape: [1, 4], dtype: 'float32' },
      { name: 'shape', shape: [2], dtype: 'int32', data: Int32Array.from([1, 4]) },
      { name: 'y', shape: [1, 4], dtype: 'float32' },
    ],
    ops: [{ op: 'RESHAPE', inputs: [0, 1], outputs: [2], options: { kind: 'reshape', shape: [1, 4] }, layer: 'r' }],
    inputs: [0],
    outputs: [2],
  };
}

// 100 examples of values 0..3 plus one example with an outlier of 1000.
const EXAMPLES = [...Array.from({ length: 100 }, () => [Float32Array.from([0, 1, 2, 3])]), [Float32Array.from([0, 1, 2, 1000])]];

test.each([
  ['minmax', {}, { min: 0, max: 1000 }],
  ['percentile 99', { method: 'percentile' as const, percentile: 99 }, { min: 0, max: 3 }],
])('calibrate: %s', (_name, options, range) => {
  const r = calibrate(reshape(), EXAMPLES, options);
  expect(r.get(0)).toEqual(range);
  expect(r.get(2)).toEqual(range);
});

test.each([
  [{ min: 0, max: 3 }, { scale: Math.fround(3 / 255), zeroPoint: -128 }],
  [{ min: 1, max: 3 }, { scale: Math.fround(3 / 255), zeroPoint: -128 }], // widened to include 0
  [{ min: -1, max: 3 }, { scale: Math.fround(4 / 255), zeroPoint: -64 }], // round(-128 + 63.75)
  [{ min: -2, max: -1 }, { scale: Math.fround(2 / 255), zeroPoint: 127 }],
  [{ min: 0, max: 0 }, { scale: 1, zeroPoint: -128 }],
])('activationParams(%j)', (range, want) => {
  expect(activationParams(range)).toEqual(want);
});

test('the RESHAPE output keeps its input parameters; int8 tensors everywhere but the shape', () => {
  const g = reshape();
  const q = quantizeGraph(g, calibrate(g, EXAMPLES, { method: 'percentile', percentile: 99 }));
  expect(q.tensors.map((t) => t.dtype)).toEqual(['int8', 'int32', 'int8']);
  expect(q.tensors[2]!.quant).toEqual(q.tensors[0]!.quant);
  expect(g.tensors[0]!.dtype).toBe('float32'); // the float graph is unchanged
});

test.each([
  [() => calibrate(reshape(), EXAMPLES, { method: 'kl' as never }), "Expected method to be 'minmax' or 'percentile', got \"kl\""],
  [() => calibrate(reshape(), EXAMPLES, { percentile: 40 }), 'Expected percentile to be in (50, 100], got 40'],
  [() => quantizeGraph(reshape(), new Map(), { io: 'uint8' as never }), "Expected io to be 'int8' or 'float32', got \"uint8\""],
])('bad options: %#', (run, message) => {
  expect(run).toThrow(new TypeError(message));
});

test('exportTflite: bad quantize, missing calibration, several outputs', async () => {
  const tf = await loadTf('cpu');
  const x = tf.input({ shape: [4] });
  const one = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(x) as any });
  expect(() => exportTflite(one, { quantize: 'int4' as never })).toThrow(new TypeError("Expected quantize to be 'int8' or 'float32', got \"int4\""));
  expect(() => exportTflite(one)).toThrow(new TypeError('Expected calibration examples for int8, got none'));
  const two = tf.model({ name: 'two', inputs: x, outputs: [tf.layers.dense({ units: 2 }).apply(x) as any, tf.layers.dense({ units: 3 }).apply(x) as any] });
  expect(() => exportTflite(two, { quantize: 'float32' })).toThrow(TfliteExportError);
  expect(() => exportTflite(two, { quantize: 'float32' })).toThrow('model two has 1 input(s) and 2 output(s); the TFLite exporter supports one of each');
});
