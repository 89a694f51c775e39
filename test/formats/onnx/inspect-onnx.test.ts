/** `inspect` for .onnx: graph, per-node mapping and the ONNX Runtime check; a refused file still shows its graph. */
import { beforeAll, expect, test } from '@jest/globals';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { formatOnnxInspection, inspectOnnx } from '../../../src/formats/onnx/inspect-onnx.js';
import { writeOnnxModel } from '../../../src/formats/onnx/write-model.js';
import { graph, weights } from './onnx-helpers.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

test('a supported model: every node mapped, and the comparison with ONNX Runtime', async () => {
  const bytes = writeOnnxModel(graph([2, 4], [2, 3], [
    { opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['g'], name: 'fc', attrs: { transB: { int: 1 } } },
    { opType: 'Relu', inputs: ['g'], outputs: ['y'], name: 'act' },
  ], [weights('w', [3, 4]), weights('b', [3])]));
  const r = await inspectOnnx(tf, bytes, 'm.onnx');
  const text = formatOnnxInspection(r);
  const lines = text.split('\n');
  expect(lines.slice(0, 7)).toEqual([
    'm.onnx: ONNX, opset 13, from modelpress, 2 nodes, 15 parameters',
    'inputs:  x [2, 4]',
    'outputs: y [2, 3]',
    '',
    'graph -> tfjs:',
    '  0 Gemm  fc: Dense onnx_0_gemm (Gemm transB)',
    '  1 Relu  act: ReLU onnx_1_relu',
  ]);
  expect(lines[8]).toMatch(/^vs ONNX Runtime \(random inputs\), output y \[2, 3\]: max \|difference\| \S+, \S+ of the output scale \(allowed 0\.0001\), argmax mismatches 0: ok$/);
  expect(r.comparison![0]!.ok).toBe(true);
});

test('an unsupported op: the graph is shown with the node marked and the refusal', async () => {
  const bytes = writeOnnxModel(graph([2, 4], [2, 4], [
    { opType: 'Relu', inputs: ['x'], outputs: ['r'], name: 'act' },
    { opType: 'Erf', inputs: ['r'], outputs: ['y'], name: 'erf' },
  ]));
  const r = await inspectOnnx(tf, bytes, 'm.onnx');
  const lines = formatOnnxInspection(r).split('\n');
  expect(lines.slice(5, 9)).toEqual([
    '  0 Relu  act: (not reached)',
    '  1 Erf   erf: NOT SUPPORTED',
    '',
    'import refused: m.onnx: node 1 "erf" (Erf, opset 13): op Erf is not supported',
  ]);
  expect(r.comparison).toBeUndefined();
});
