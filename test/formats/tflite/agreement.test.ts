/**
 * compareWithSimulation on a one-op int8 graph with hand-made "runtime"
 * outputs: agreement and step differences are counted, not assumed.
 */
import type { TfliteGraph } from '../../../src/formats/tflite/graph.js';
import { compareWithSimulation, inputsForGraph, outputStep } from '../../../src/formats/tflite/agreement.js';

/** y = relu-free FC of 2 inputs to 2 outputs, int8 throughout (identity weights, scales 0.5 and 0.25). */
function graph(): TfliteGraph {
  return {
    tensors: [
      { name: 'x', shape: [1, 2], dtype: 'int8', quant: { scale: [0.5], zeroPoint: [0], dimension: 0 } },
      { name: 'w', shape: [2, 2], dtype: 'int8', data: Int8Array.from([1, 0, 0, 1]), quant: { scale: [0.5], zeroPoint: [0], dimension: 0 } },
      { name: 'b', shape: [2], dtype: 'int32', data: Int32Array.from([0, 0]), quant: { scale: [0.25], zeroPoint: [0], dimension: 0 } },
      { name: 'y', shape: [1, 2], dtype: 'int8', quant: { scale: [0.25], zeroPoint: [0], dimension: 0 } },
    ],
    ops: [{ op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3], options: { kind: 'fc', activation: 'none' }, layer: 'fc' }],
    inputs: [0],
    outputs: [3],
  };
}

test('argmax agreement, steps and accuracies are counted against the simulation', () => {
  const g = graph();
  expect(outputStep(g)).toBe(1);
  const dequantized: TfliteGraph = { ...g, tensors: [...g.tensors, { name: 'f', shape: [1, 2], dtype: 'float32' }], ops: [...g.ops, { op: 'DEQUANTIZE', inputs: [3], outputs: [4], options: { kind: 'none' }, layer: 'f' }], outputs: [4] };
  expect(outputStep(dequantized)).toBe(0.25);
  const inputs = [Int8Array.from([4, 2]), Int8Array.from([1, 3])];
  // Simulation: y = x * 0.5 * 0.5 / 0.25 = x. Runtime: first example exact, second 2 steps off on one value (argmax flips).
  const runtime = [4, 2, 4, 3];
  const r = compareWithSimulation(g, inputs, runtime, [0, 1]);
  expect(r).toEqual({ examples: 2, argmaxAgreementPct: 50, maxDiffSteps: 3, withinOneStepPct: 75, runtimeAccuracy: 50, simulationAccuracy: 100 });
});

test('inputsForGraph quantizes float examples for an int8 input with round and clamp', () => {
  expect(Array.from(inputsForGraph(graph(), [Float32Array.from([1.2, -100])])[0]!)).toEqual([2, -128]);
});
