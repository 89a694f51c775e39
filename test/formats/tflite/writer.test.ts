/**
 * The writer, read back field by field: a functional model that uses every
 * supported op (int8 with float32 I/O, so QUANTIZE and DEQUANTIZE appear
 * too), file identifier TFL3, schema version 3, buffers[0] empty, 16-byte
 * aligned weight buffers, operator versions, options, and quantization
 * parameters as the spec wants them (per-channel conv / depthwise weights
 * checked against a float64 computation, int32 biases with scale = input x
 * weight scale, softmax 1/256 and -128). Unsupported layers: errors that
 * name the layer and list what is supported.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { mulberry32 } from '../../../src/data/dataset.js';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { graphFromLayers } from '../../../src/formats/tflite/from-layers.js';
import { sizeOf } from '../../../src/formats/tflite/graph.js';
import { calibrate, quantizeGraph, symmetricScales } from '../../../src/formats/tflite/quantize.js';
import { readTflite } from '../../../src/formats/tflite/reader.js';
import { BuiltinOptions, TensorType } from '../../../src/formats/tflite/schema.js';
import { TfliteExportError } from '../../../src/formats/tflite/tflite-error.js';
import { writeTflite } from '../../../src/formats/tflite/writer.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('cpu');
});

function randomize(model: LayersModel, seed: number): LayersModel {
  const rnd = mulberry32(seed);
  model.setWeights(model.weights.map((w) => tf.tensor(Float32Array.from({ length: sizeOf(w.shape as number[]) }, () => (w.name.includes('variance') ? 0.5 + rnd() : rnd() - 0.5)), w.shape as number[])));
  return model;
}

/** Every supported op in one functional model. */
function everyOp(): LayersModel {
  const L = tf.layers;
  const x = tf.input({ shape: [8, 8, 2] });
  const padded = L.zeroPadding2d({ padding: 1, name: 'pad' }).apply(x) as any;
  const conv = L.conv2d({ filters: 4, kernelSize: 3, name: 'conv', activation: 'relu' }).apply(padded) as any;
  const dw = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(conv) as any;
  const bn = L.batchNormalization({ name: 'bn' }).apply(dw) as any;
  const relu6 = L.reLU({ maxValue: 6, name: 'relu6' }).apply(bn) as any;
  const sum = L.add({ name: 'add' }).apply([conv, relu6]) as any;
  const maxp = L.maxPooling2d({ poolSize: 2, name: 'maxpool' }).apply(sum) as any;
  const avgp = L.averagePooling2d({ poolSize: 2, name: 'avgpool' }).apply(sum) as any;
  const cat = L.concatenate({ name: 'concat' }).apply([maxp, avgp]) as any;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(cat) as any;
  const flat = L.flatten({ name: 'flatten' }).apply(maxp) as any;
  const d1 = L.dense({ units: 6, name: 'dense_a' }).apply(flat) as any;
  const d2 = L.dense({ units: 6, name: 'dense_b' }).apply(gap) as any;
  const both = L.add({ name: 'add2' }).apply([d1, d2]) as any;
  const out = L.dense({ units: 3, activation: 'softmax', name: 'classifier' }).apply(both) as any;
  return randomize(tf.model({ inputs: x, outputs: out }), 3);
}

function examples(count: number, n: number, seed: number): Float32Array[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, () => [Float32Array.from({ length: n }, () => rnd() * 2 - 1)]);
}

describe('writeTflite, read back field by field', () => {
  test('an int8 model with every supported op', () => {
    const graph = graphFromLayers(everyOp());
    const q = quantizeGraph(graph, calibrate(graph, examples(8, 128, 1)), { io: 'float32' });
    const file = readTflite(writeTflite(q, 'every op'));
    expect(file.identifier).toBe('TFL3');
    expect(file.version).toBe(3);
    expect(file.description).toBe('every op');
    expect(file.buffers[0]).toHaveLength(0);
    expect(file.subgraphs).toHaveLength(1);
    const sg = file.subgraphs[0]!;
    const opNames = sg.operators.map((o) => file.operatorCodes[o.opcodeIndex]!.name);
    // maxpool and avgpool both keep add's parameters, so the concatenation needs no requantization here.
    expect(opNames).toEqual([
      'QUANTIZE', 'PAD', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'CONCATENATION',
      'RESHAPE', 'MEAN', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'ADD', 'FULLY_CONNECTED', 'SOFTMAX', 'DEQUANTIZE',
    ]);
    // The lowest versions that run int8 (float-only kernels are version 1).
    const versions = Object.fromEntries(file.operatorCodes.map((c) => [c.name, c.version]));
    expect(versions).toMatchObject({ CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4, ADD: 2, MAX_POOL_2D: 2, AVERAGE_POOL_2D: 2, CONCATENATION: 2, MEAN: 2, RESHAPE: 1, SOFTMAX: 2, PAD: 2, DEQUANTIZE: 2 });
    for (const c of file.operatorCodes) expect(c.builtinCode).toBe(c.deprecatedBuiltinCode);

    // Graph I/O: float32 at the boundary, int8 inside.
    expect(sg.tensors[sg.inputs[0]!]).toMatchObject({ type: TensorType.FLOAT32, shape: [1, 8, 8, 2] });
    expect(sg.tensors[sg.outputs[0]!]).toMatchObject({ type: TensorType.FLOAT32, shape: [1, 3] });

    // Options of each op, exactly.
    const byName = (n: string) => sg.operators.find((o) => file.operatorCodes[o.opcodeIndex]!.name === n)!;
    expect(byName('CONV_2D')).toMatchObject({ optionsType: BuiltinOptions.Conv2DOptions, options: { padding: 1, stride_w: 1, stride_h: 1, fused_activation_function: 1, dilation_w_factor: 1, dilation_h_factor: 1 } });
    expect(byName('DEPTHWISE_CONV_2D')).toMatchObject({ optionsType: BuiltinOptions.DepthwiseConv2DOptions, options: { padding: 0, stride_w: 1, stride_h: 1, depth_multiplier: 1, fused_activation_function: 3 } });
    expect(byName('MAX_POOL_2D').options).toEqual({ padding: 1, stride_w: 2, stride_h: 2, filter_width: 2, filter_height: 2, fused_activation_function: 0 });
    expect(byName('CONCATENATION').options).toEqual({ axis: 3, fused_activation_function: 0 });
    expect(byName('MEAN').options).toEqual({ keep_dims: 0 });
    expect(byName('RESHAPE').options).toEqual({ new_shape: [1, 64] });
    expect(byName('SOFTMAX').options.beta).toBeCloseTo(1, 6);
    expect(byName('PAD').optionsType).toBe(BuiltinOptions.NONE);

    // Constant buffers: own buffer each, 16-byte aligned; activations point at buffers[0].
    for (const t of sg.tensors) {
      if (t.buffer === 0) continue;
      expect(file.bufferOffsets[t.buffer]! % 16).toBe(0);
      const bytesPer = t.type === TensorType.INT8 ? 1 : 4;
      expect(file.buffers[t.buffer]!.length).toBe(sizeOf(t.shape) * bytesPer);
    }

    // Per-channel conv weights: axis 0 of OHWI, scales = max|w| / 127 per output channel in float64.
    const convW = sg.tensors[byName('CONV_2D').inputs[1]!]!;
    const floatConv = graph.tensors.find((t) => t.name === 'conv/kernel')!;
    expect(convW.shape).toEqual([4, 3, 3, 2]);
    expect(convW.quantization!.quantizedDimension).toBe(0);
    const want = Array.from({ length: 4 }, (_, o) => {
      let m = 0;
      for (let i = 0; i < 18; i++) m = Math.max(m, Math.abs((floatConv.data as Float32Array)[o * 18 + i]!));
      return m / 127;
    });
    convW.quantization!.scale.forEach((s, o) => expect(Math.abs(s - want[o]!) / want[o]!).toBeLessThan(1e-6));
    expect(convW.quantization!.zeroPoint).toEqual([0, 0, 0, 0]);
    // Depthwise: axis 3 of [1, h, w, c] (batch norm folded first).
    const dwW = sg.tensors[byName('DEPTHWISE_CONV_2D').inputs[1]!]!;
    expect(dwW.shape).toEqual([1, 3, 3, 4]);
    expect(dwW.quantization!.quantizedDimension).toBe(3);
    const dwFloat = graph.tensors.find((t) => t.name === 'dw/depthwise_kernel')!.data as Float32Array;
    dwW.quantization!.scale.forEach((s, c) => {
      let m = 0;
      for (let i = c; i < dwFloat.length; i += 4) m = Math.max(m, Math.abs(dwFloat[i]!));
      expect(Math.abs(s - m / 127) / (m / 127)).toBeLessThan(1e-6);
    });
    // Int32 bias, scale = input scale x weight scale per channel.
    const convIn = sg.tensors[byName('CONV_2D').inputs[0]!]!.quantization!.scale[0]!;
    const convB = sg.tensors[byName('CONV_2D').inputs[2]!]!;
    expect(convB.type).toBe(TensorType.INT32);
    convB.quantization!.scale.forEach((s, o) => expect(s).toBeCloseTo(Math.fround(convIn * convW.quantization!.scale[o]!), 12));
    // FULLY_CONNECTED: per-tensor weights [out, in].
    const fc = sg.tensors[byName('FULLY_CONNECTED').inputs[1]!]!;
    expect(fc.shape).toEqual([6, 64]);
    expect(fc.quantization!.scale).toHaveLength(1);
    // Softmax output: 1/256, -128.
    const sm = sg.tensors[byName('SOFTMAX').outputs[0]!]!;
    expect(sm.quantization).toEqual({ scale: [1 / 256], zeroPoint: [-128], quantizedDimension: 0 });
    // Pass-through ops keep their input's parameters.
    for (const n of ['MAX_POOL_2D', 'RESHAPE', 'PAD']) {
      const o = byName(n);
      expect(sg.tensors[o.outputs[0]!]!.quantization).toEqual(sg.tensors[o.inputs[0]!]!.quantization);
    }
    // Concatenation: one scale for all its inputs and its output.
    const cat = byName('CONCATENATION');
    for (const i of cat.inputs) expect(sg.tensors[i]!.quantization).toEqual(sg.tensors[cat.outputs[0]!]!.quantization);
  });

  test('concatenation inputs with other parameters are requantized to the output\'s by QUANTIZE (version 2)', () => {
    const x = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 3, name: 'a' }).apply(x) as any;
    const b = tf.layers.dense({ units: 2, name: 'b' }).apply(x) as any;
    const graph = graphFromLayers(randomize(tf.model({ inputs: x, outputs: tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as any }), 9));
    const file = readTflite(writeTflite(quantizeGraph(graph, calibrate(graph, examples(8, 4, 2)))));
    const sg = file.subgraphs[0]!;
    expect(sg.operators.map((o) => file.operatorCodes[o.opcodeIndex]!.name)).toEqual(['FULLY_CONNECTED', 'FULLY_CONNECTED', 'QUANTIZE', 'CONCATENATION']);
    expect(file.operatorCodes.find((c) => c.name === 'QUANTIZE')!.version).toBe(2);
    const cat = sg.operators[3]!;
    // The input whose range is the union keeps its parameters; the other goes through the QUANTIZE.
    expect(cat.inputs).toContain(sg.operators[2]!.outputs[0]);
    for (const i of cat.inputs) expect(sg.tensors[i]!.quantization).toEqual(sg.tensors[cat.outputs[0]!]!.quantization);
  });

  test('symmetricScales: per channel along an axis, 1 for an all-zero channel', () => {
    const w = Float32Array.from([1, -2, 0, 0, 0.5, 0.25]);
    expect(symmetricScales(w, [3, 2], 0)).toEqual([Math.fround(2 / 127), 1, Math.fround(0.5 / 127)]);
    expect(symmetricScales(w, [3, 2], 1)).toEqual([Math.fround(1 / 127), Math.fround(2 / 127)]);
    expect(symmetricScales(w, [3, 2], undefined)).toEqual([Math.fround(2 / 127)]);
  });
});

describe('unsupported layers: the layer named, what is supported listed', () => {
  const supported = 'supported layers: InputLayer, Dense, Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Reshape, Activation, ReLU, Softmax, Add, Concatenate, ZeroPadding2D, BatchNormalization, Dropout; activations: linear, relu, relu6, softmax';
  const cases: [string, () => LayersModel, string][] = [
    ['an LSTM layer', () => tf.sequential({ layers: [tf.layers.lstm({ units: 2, inputShape: [3, 4], name: 'lstm1' })] }), 'layer lstm1 (LSTM): is not supported by the TFLite exporter'],
    ['a tanh activation', () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4], activation: 'tanh', name: 'd1' })] }), "layer d1 (Dense): activation 'tanh' is not supported (supported: linear, relu, relu6, softmax)"],
    ['a dilated convolution', () => tf.sequential({ layers: [tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, inputShape: [8, 8, 1], name: 'c1' })] }), 'layer c1 (Conv2D): dilationRate [2, 2] is not supported (1 only)'],
    ['batch norm after an activation', () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4], activation: 'relu', name: 'd1' }), tf.layers.batchNormalization({ name: 'bn1' })] }), 'layer bn1 (BatchNormalization): can only be folded into a Dense, Conv2D or DepthwiseConv2D layer that has no activation and no other consumer (put the activation after the batch norm)'],
  ];
  test.each(cases)('%s', (_name, build, message) => {
    let error: unknown;
    try {
      graphFromLayers(build());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TfliteExportError);
    expect((error as TfliteExportError).message).toBe(message);
    expect((error as TfliteExportError).hints).toEqual([supported]);
  });
});
