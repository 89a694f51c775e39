/**
 * Each supported op alone (or in the small chain PyTorch emits it in), built
 * as an .onnx file, imported, and run beside ONNX Runtime on the same random
 * inputs: max |difference| <= 1e-4 of the output scale, argmax equal. The
 * cases cover the layout edges: odd sizes, stride 2 where PyTorch's padding
 * is not TensorFlow's `same`, groups, dilation, a Dense after a Flatten.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/index.js';
import { compareWithOnnxRuntime } from '../../../src/formats/onnx/compare-runtimes.js';
import { importOnnxBytes } from '../../../src/formats/onnx/import-onnx.js';
import type { GraphSpec } from '../../../src/formats/onnx/write-model.js';
import { writeOnnxModel } from '../../../src/formats/onnx/write-model.js';
import { graph, ints, positive, weights } from './onnx-helpers.js';

let tf: Tf;
beforeAll(async () => {
  // The training kernels: the trainability check fits a conv.
  tf = await loadTf('wasm', { beforeReady: (t) => void registerWasmTrainingKernels(t) });
});

const conv = (o: number, i: number, k: number, attrs: Record<string, { ints: number[] } | { int: number } | { string: string }>, seed = 1) => ({
  node: { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { kernel_shape: { ints: [k, k] }, ...attrs } },
  inits: [weights('w', [o, i, k, k], seed), weights('b', [o], seed + 1)],
});

function convCase(input: number[], o: number, ig: number, k: number, attrs: Parameters<typeof conv>[3]): GraphSpec {
  const c = conv(o, ig, k, attrs);
  return graph(input, [input[0]!, o, -1, -1].map((d) => (d === -1 ? 'd' : d)) as never, [c.node], c.inits);
}

/** [name, spec, substring the mapping of the first layer node must contain]. */
const CASES: [string, GraphSpec, string][] = [
  ['Conv 3x3 pad 1 stride 1, odd size 7x5 (same)', convCase([2, 3, 7, 5], 4, 3, 3, { pads: { ints: [1, 1, 1, 1] } }), 'Conv2D onnx_0_conv (same)'],
  ['Conv 3x3 pad 1 stride 2, even size 8x8 (PyTorch pads differ from same)', convCase([2, 3, 8, 8], 4, 3, 3, { pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } }), 'ZeroPadding2D [[1,1],[1,1]] + valid'],
  ['Conv 5x5 pad 2 stride 2, odd size 9x7', convCase([1, 2, 9, 7], 3, 2, 5, { pads: { ints: [2, 2, 2, 2] }, strides: { ints: [2, 2] } }), 'Conv2D'],
  ['Conv valid stride 2, odd size', convCase([1, 2, 9, 9], 3, 2, 3, { strides: { ints: [2, 2] } }), '(valid)'],
  ['Conv asymmetric pads', convCase([1, 2, 6, 6], 3, 2, 3, { pads: { ints: [0, 1, 2, 1] } }), 'ZeroPadding2D [[0,2],[1,1]]'],
  ['Conv dilation 2', convCase([1, 2, 9, 9], 3, 2, 3, { dilations: { ints: [2, 2] }, pads: { ints: [2, 2, 2, 2] } }), 'Conv2D'],
  ['Conv auto_pad SAME_LOWER stride 2', convCase([1, 2, 8, 8], 3, 2, 3, { auto_pad: { string: 'SAME_LOWER' }, strides: { ints: [2, 2] } }), 'ZeroPadding2D'],
  ['Conv depthwise (group = channels)', convCase([2, 4, 7, 7], 4, 1, 3, { group: { int: 4 }, pads: { ints: [1, 1, 1, 1] } }), 'DepthwiseConv2D'],
  ['Conv depthwise stride 2 with multiplier 2', convCase([1, 3, 8, 8], 6, 1, 3, { group: { int: 3 }, pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } }), 'depth multiplier 2'],
  ['Conv grouped (2 groups)', convCase([1, 4, 5, 5], 6, 2, 3, { group: { int: 2 } }), 'group 2 as a block-diagonal kernel'],
  [
    'Gemm transB, alpha and beta',
    graph([3, 6], [3, 4], [{ opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: { int: 1 }, alpha: { float: 0.5 }, beta: { float: 2 } } }], [weights('w', [4, 6]), weights('b', [4])]),
    'Dense onnx_0_gemm (Gemm transB, alpha 0.5 beta 2 folded)',
  ],
  [
    'MatMul + Add as one Dense',
    graph([3, 6], [3, 4], [
      { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { opType: 'Add', inputs: ['m', 'b'], outputs: ['y'] },
    ], [weights('w', [6, 4]), weights('b', [4])]),
    'MatMul + Add as Dense',
  ],
  [
    'Conv -> Flatten -> Gemm: Dense rows permuted C*H*W -> H*W*C',
    graph([2, 2, 5, 4], [2, 7], [
      { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } } },
      { opType: 'Flatten', inputs: ['c'], outputs: ['f'] },
      { opType: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { int: 1 } } },
    ], [weights('w', [3, 2, 3, 3]), weights('b', [3]), weights('fw', [7, 60]), weights('fb', [7])]),
    'Conv2D',
  ],
  [
    'Reshape through the Shape -> Gather -> Unsqueeze -> Concat chain, then Gemm',
    graph([2, 3, 4, 4], [2, 5], [
      { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
      { opType: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: { int: 0 } } },
      { opType: 'Unsqueeze', inputs: ['n', 'ax'], outputs: ['n1'] },
      { opType: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: { axis: { int: 0 } } },
      { opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
      { opType: 'Gemm', inputs: ['r', 'fw', 'fb'], outputs: ['y'], attrs: { transB: { int: 1 } } },
    ], [{ name: 'zero', dims: [], data: [0], int64: true }, ints('ax', [0]), ints('minus1', [-1]), weights('fw', [5, 48]), weights('fb', [5])]),
    'folded constant',
  ],
  [
    'BatchNormalization (4-D)',
    graph([2, 3, 5, 5], [2, 3, 5, 5], [{ opType: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'], attrs: { epsilon: { float: 1e-3 } } }], [
      weights('s', [3]), weights('b', [3]), weights('m', [3]), positive('v', [3]),
    ]),
    'BatchNormalization',
  ],
  ['Relu', graph([2, 3, 4, 5], [2, 3, 4, 5], [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }]), 'ReLU'],
  ['LeakyRelu', graph([2, 6], [2, 6], [{ opType: 'LeakyRelu', inputs: ['x'], outputs: ['y'], attrs: { alpha: { float: 0.2 } } }]), 'LeakyReLU'],
  ['Clip(0, 6) input form (opset 13) as ReLU6', graph([2, 6], [2, 6], [{ opType: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }], [{ name: 'lo', dims: [], data: [0] }, { name: 'hi', dims: [], data: [0.25] }]), 'ReLU'],
  ['Clip(0, 6) attribute form (opset 9)', graph([2, 6], [2, 6], [{ opType: 'Clip', inputs: ['x'], outputs: ['y'], attrs: { min: { float: 0 }, max: { float: 6 } } }], [], 9), 'ReLU6'],
  ['Sigmoid', graph([2, 6], [2, 6], [{ opType: 'Sigmoid', inputs: ['x'], outputs: ['y'] }]), 'sigmoid'],
  ['Tanh', graph([2, 3, 3, 3], [2, 3, 3, 3], [{ opType: 'Tanh', inputs: ['x'], outputs: ['y'] }]), 'tanh'],
  ['HardSigmoid (default alpha, beta)', graph([2, 6], [2, 6], [{ opType: 'HardSigmoid', inputs: ['x'], outputs: ['y'] }]), 'hardSigmoid'],
  ['HardSigmoid (alpha 1/6, PyTorch)', graph([2, 3, 4, 4], [2, 3, 4, 4], [{ opType: 'HardSigmoid', inputs: ['x'], outputs: ['y'], attrs: { alpha: { float: 1 / 6 } } }]), 'HardSigmoid(alpha'],
  ['HardSwish (opset 14)', graph([2, 5], [2, 5], [{ opType: 'HardSwish', inputs: ['x'], outputs: ['y'] }], [], 14), 'HardSwish as x *'],
  ['Softmax', graph([3, 7], [3, 7], [{ opType: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { int: 1 } } }]), 'Softmax'],
  ['Softmax over channels of a 4-D tensor', graph([1, 3, 2, 2], [1, 3, 2, 2], [{ opType: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { int: 1 } } }]), 'Softmax'],
  [
    'Add (residual) and Mul of two tensors',
    graph([2, 3, 4, 4], [2, 3, 4, 4], [
      { opType: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
      { opType: 'Mul', inputs: ['x', 's'], outputs: ['m'] },
      { opType: 'Add', inputs: ['m', 'x'], outputs: ['y'] },
    ]),
    'Multiply onnx_1_mul',
  ],
  [
    'Concat on channels',
    graph([2, 2, 3, 3], [2, 4, 3, 3], [
      { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
      { opType: 'Concat', inputs: ['x', 'r'], outputs: ['y'], attrs: { axis: { int: 1 } } },
    ]),
    'ReLU',
  ],
  [
    'MaxPool 3x3 stride 2 pad 1 after Relu (zero padding exact)',
    graph([1, 2, 8, 8], [1, 2, 4, 4], [
      { opType: 'Relu', inputs: ['x'], outputs: ['r'] },
      { opType: 'MaxPool', inputs: ['r'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } } },
    ]),
    'ReLU',
  ],
  ['MaxPool 2x2 stride 2, odd size', graph([1, 3, 7, 7], [1, 3, 3, 3], [{ opType: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } }]), 'MaxPooling2D'],
  [
    'AveragePool with pads counted (count_include_pad = 1)',
    graph([1, 2, 5, 5], [1, 2, 3, 3], [{ opType: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { int: 1 } } }]),
    'ZeroPadding2D',
  ],
  [
    'GlobalAveragePool -> Flatten -> Gemm',
    graph([2, 3, 5, 5], [2, 4], [
      { opType: 'GlobalAveragePool', inputs: ['x'], outputs: ['g'] },
      { opType: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { opType: 'Gemm', inputs: ['f', 'w', 'b'], outputs: ['y'], attrs: { transB: { int: 1 } } },
    ], [weights('w', [4, 3]), weights('b', [4])]),
    'GlobalAveragePooling2D',
  ],
  ['Pad (constant zero, opset 13 input form)', graph([1, 2, 3, 3], [1, 2, 6, 5], [{ opType: 'Pad', inputs: ['x', 'p'], outputs: ['y'] }], [ints('p', [0, 0, 1, 2, 0, 0, 2, 0])]), 'ZeroPadding2D onnx_0_pad [[1,2],[2,0]]'],
  [
    'Dropout, Identity and a Constant',
    graph([2, 5], [2, 5], [
      { opType: 'Dropout', inputs: ['x'], outputs: ['d'] },
      { opType: 'Identity', inputs: ['d'], outputs: ['i'] },
      { opType: 'Relu', inputs: ['i'], outputs: ['y'] },
    ]),
    'identity',
  ],
];

describe('each supported op against ONNX Runtime', () => {
  test.each(CASES)('%s', async (_name, spec, mapping) => {
    const bytes = writeOnnxModel(spec);
    const imported = importOnnxBytes(tf, bytes, 'case.onnx');
    expect(imported.mappings.map((m) => m.mapping).join('\n')).toContain(mapping);
    const [c] = await compareWithOnnxRuntime(tf, bytes, imported, { seed: 7 });
    expect(c!.relDiff).toBeLessThanOrEqual(1e-4);
    expect(c!.argmaxMismatches).toBe(0);
    expect(c!.ok).toBe(true);
    imported.model.dispose();
  });

  test.each([
    ['HardSigmoid (alpha 1/6)', graph([2, 40], [2, 40], [{ opType: 'HardSigmoid', inputs: ['x'], outputs: ['y'], attrs: { alpha: { float: 1 / 6 } } }])],
    ['HardSwish', graph([2, 40], [2, 40], [{ opType: 'HardSwish', inputs: ['x'], outputs: ['y'] }], [], 14)],
  ])('%s on [-8, 8], through both clipped ends', async (_name, spec) => {
    const bytes = writeOnnxModel(spec);
    const imported = importOnnxBytes(tf, bytes, 'case.onnx');
    const data = Float32Array.from({ length: 80 }, (_, i) => -8 + (16 * i) / 79);
    const [c] = await compareWithOnnxRuntime(tf, bytes, imported, { feeds: { x: { dims: [2, 40], data } } });
    expect(c!.ok).toBe(true);
    // The affine layers are frozen: fine-tuning cannot change the op.
    expect(imported.model.trainableWeights).toEqual([]);
    imported.model.dispose();
  });

  test('inputLayout nchw: the model takes PyTorch-layout images (a Permute first) and still matches', async () => {
    const bytes = writeOnnxModel(CASES[12]![1]);
    const imported = importOnnxBytes(tf, bytes, 'case.onnx', { inputLayout: 'nchw' });
    expect(imported.model.inputs[0]!.shape).toEqual([null, 2, 5, 4]);
    expect(imported.inputs[0]!.layout).toBe('nchw');
    const [c] = await compareWithOnnxRuntime(tf, bytes, imported, { seed: 9 });
    expect(c!.ok).toBe(true);
    imported.model.dispose();
  });

  test('a bad inputLayout is "Expected X, got Y"', () => {
    expect(() => importOnnxBytes(tf, writeOnnxModel(CASES[15]![1]), 'case.onnx', { inputLayout: 'chw' as never })).toThrow('Expected inputLayout to be "nhwc" or "nchw", got "chw"');
  });

  test('the imported model is trainable: one fit step changes the weights', async () => {
    const spec = CASES[12]![1];
    const imported = importOnnxBytes(tf, writeOnnxModel(spec), 'case.onnx');
    const model = imported.model;
    const before = model.getWeights().map((w) => w.dataSync().slice());
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const x = tf.randomNormal([2, 5, 4, 2]);
    const y = tf.randomNormal([2, 7]);
    await model.fit(x, y, { epochs: 1, verbose: 0 });
    const after = model.getWeights().map((w) => w.dataSync());
    expect(model.trainableWeights.length).toBe(4);
    expect(after.some((a, i) => a.some((v, j) => v !== before[i]![j]))).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
