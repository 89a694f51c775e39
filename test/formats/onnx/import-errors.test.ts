/**
 * Every refusal is an OnnxError located in the file (node index, name, op
 * type, opset; or the byte where decoding stopped) with a hint: the exact
 * text is asserted, because it is what a user reads.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { importOnnxBytes } from '../../../src/formats/onnx/import-onnx.js';
import { OnnxError } from '../../../src/formats/onnx/onnx-error.js';
import { onnxProto } from '../../../src/formats/onnx/onnx-proto.js';
import { SUPPORTED_OPS } from '../../../src/formats/onnx/op-table.js';
import type { GraphSpec } from '../../../src/formats/onnx/write-model.js';
import { writeOnnxModel } from '../../../src/formats/onnx/write-model.js';
import { graph, weights } from './onnx-helpers.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

function refusal(bytes: Uint8Array): OnnxError {
  try {
    importOnnxBytes(tf, bytes, 'model.onnx');
  } catch (err) {
    if (err instanceof OnnxError) return err;
    throw err;
  }
  throw new Error('expected the import to be refused');
}

const relu = graph([1, 4], [1, 4], [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }]);

const CASES: [string, GraphSpec, string][] = [
  [
    'an unsupported op',
    graph([1, 4], [1, 4], [{ opType: 'Relu', inputs: ['x'], outputs: ['r'], name: 'act' }, { opType: 'Elu', inputs: ['r'], outputs: ['y'], name: 'elu_1' }]),
    'model.onnx: node 1 "elu_1" (Elu, opset 13): op Elu is not supported',
  ],
  ['opset 5 (too old)', { ...relu, opset: 5 }, 'model.onnx: opset 5 is not supported: modelpress imports ai.onnx opsets 6 to 18'],
  ['opset 19 (newer than checked)', { ...relu, opset: 19 }, 'model.onnx: opset 19 is not supported: modelpress imports ai.onnx opsets 6 to 18'],
  [
    'Clip with a negative minimum',
    graph([1, 4], [1, 4], [{ opType: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'], name: 'clip' }], [{ name: 'lo', dims: [], data: [-1] }, { name: 'hi', dims: [], data: [1] }]),
    'model.onnx: node 0 "clip" (Clip, opset 13): Clip(-1, 1) cannot be expressed: tfjs layers clip at 0 and an optional maximum (ReLU, ReLU6)',
  ],
  [
    'MaxPool with PyTorch pads on values that can be negative',
    graph([1, 2, 8, 8], [1, 2, 4, 4], [{ opType: 'MaxPool', inputs: ['x'], outputs: ['y'], name: 'pool', attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } } }]),
    "model.onnx: node 0 \"pool\" (MaxPool, opset 13): pads [1, 1, 1, 1] differ from TensorFlow's same padding, and zero padding changes a max of values that can be negative",
  ],
  [
    'a 1-D convolution',
    graph([1, 2, 9], [1, 3, 7], [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], name: 'conv1d', attrs: { kernel_shape: { ints: [3] } } }], [weights('w', [3, 2, 3])]),
    'model.onnx: node 0 "conv1d" (Conv, opset 13): expected a 4-D NCHW input (a 2-D Conv), got rank 3 [1, 2, 9]',
  ],
  [
    'a weight computed at run time',
    { ...graph([1, 4], [1, 4], [{ opType: 'MatMul', inputs: ['x', 'x2'], outputs: ['y'], name: 'mm' }]), inputs: [{ name: 'x', dims: [1, 4] }, { name: 'x2', dims: [4, 4] }] },
    'model.onnx: node 0 "mm" (MatMul, opset 13): the right-hand side (the weight) (input 1) must be a constant (an initializer or Constant), got a value computed at run time',
  ],
];

describe('located refusals', () => {
  test.each(CASES)('%s', (_name, spec, message) => {
    expect(refusal(writeOnnxModel(spec)).message).toBe(message);
  });

  test('an unsupported op lists what is supported', () => {
    const err = refusal(writeOnnxModel(CASES[0]![1]));
    expect(err.hints[0]).toBe(`supported ops: ${SUPPORTED_OPS.join(', ')}`);
    expect(err.location).toEqual({ file: 'model.onnx', nodeIndex: 1, nodeName: 'elu_1', opType: 'Elu', opset: 13 });
  });

  test('a truncated file says so, with the byte it stopped at', () => {
    const bytes = writeOnnxModel(graph([1, 2, 5, 5], [1, 3, 3, 3], [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] } } }], [weights('w', [3, 2, 3, 3])]));
    const cut = bytes.length - 40;
    const err = refusal(bytes.subarray(0, cut));
    expect(err.message).toBe(`model.onnx: the file is truncated: a field runs past the end of its message (file size ${cut} bytes)`);
    expect(err.hints).toEqual(['copy or export the .onnx file again and compare its size with the original']);
  });

  test('bytes that are not protobuf', () => {
    const err = refusal(new TextEncoder().encode('{"modelTopology": {}} this is a model.json, not ONNX'));
    // Text read as protobuf: a field length runs past the end.
    expect(err.message).toBe('model.onnx: byte 3: the file is truncated: a field at byte 3 needs 109 more byte(s) but its message ends at byte 52 (file size 52 bytes)');
  });

  test('an empty file holds no graph', () => {
    expect(refusal(new Uint8Array(0)).message).toBe('model.onnx: the file holds no ONNX graph (no nodes): expected a ModelProto with a graph');
  });

  test('weights in an external file are refused with how to embed them', () => {
    const { ModelProto } = onnxProto();
    const model = ModelProto.decode(writeOnnxModel(graph([1, 4], [1, 3], [{ opType: 'Gemm', inputs: ['x', 'w'], outputs: ['y'] }], [weights('w', [4, 3])]))) as unknown as {
      graph: { initializer: { raw_data: Uint8Array; data_location: number; external_data: { key: string; value: string }[] }[] };
    };
    const init = model.graph.initializer[0]!;
    init.raw_data = new Uint8Array(0);
    init.data_location = 1;
    init.external_data = [{ key: 'location', value: 'weights.bin' }];
    const err = refusal(ModelProto.encode(ModelProto.fromObject(model)).finish());
    expect(err.message).toBe('model.onnx: tensor "w" keeps its data in an external file (weights.bin); modelpress reads self-contained .onnx files only');
    expect(err.hints[0]).toMatch(/save_as_external_data=False/);
  });
});
