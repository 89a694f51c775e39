/**
 * Every supported op alone, float32 and int8, run by the real TFLite
 * interpreter (tfjs-tflite's wasm build in headless Chromium): the float
 * file must compute what tfjs computes, the int8 file what modelpress's
 * int8 simulation (reference.ts) computes, within one quantization step.
 * All models share one browser session to keep the suite fast.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { mulberry32 } from '../../../src/data/dataset.js';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { TfliteSession } from '../../../src/browser/tflite-session.js';
import { graphFromLayers } from '../../../src/formats/tflite/from-layers.js';
import { calibrate, quantizeGraph } from '../../../src/formats/tflite/quantize.js';
import { runGraph } from '../../../src/formats/tflite/reference.js';
import { writeTflite } from '../../../src/formats/tflite/writer.js';
import { sizeOf } from '../../../src/formats/tflite/graph.js';
import { describeWithBrowser } from '../../helpers/browser.js';

let tf: Tf;

function randomize(model: LayersModel, seed: number): LayersModel {
  const rnd = mulberry32(seed);
  model.setWeights(model.weights.map((w) => {
    const n = sizeOf(w.shape as number[]);
    const isVariance = w.name.includes('moving_variance');
    return tf.tensor(Float32Array.from({ length: n }, () => (isVariance ? 0.5 + rnd() : rnd() * 2 - 1) * (w.shape.length > 1 ? 0.5 : 0.3)), w.shape as number[]);
  }));
  return model;
}

function inputsFor(shape: number[], count: number, seed: number): Float32Array[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: sizeOf(shape) }, () => rnd() * 2 - 1));
}

/** Single-op models: name -> builder (input shape without batch). */
const CASES: { name: string; shape: number[]; build: (input: any) => any; ops: string[] }[] = [
  { name: 'dense relu', shape: [12], build: (x) => tf.layers.dense({ units: 5, activation: 'relu' }).apply(x), ops: ['FULLY_CONNECTED'] },
  { name: 'dense softmax', shape: [12], build: (x) => tf.layers.dense({ units: 6, activation: 'softmax' }).apply(x), ops: ['FULLY_CONNECTED', 'SOFTMAX'] },
  { name: 'conv2d same relu6', shape: [7, 7, 3], build: (x) => tf.layers.reLU({ maxValue: 6 }).apply(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(x)), ops: ['CONV_2D'] },
  { name: 'conv2d valid stride 2', shape: [9, 8, 2], build: (x) => tf.layers.conv2d({ filters: 3, kernelSize: [3, 2], strides: 2, padding: 'valid' }).apply(x), ops: ['CONV_2D'] },
  { name: 'depthwise x2', shape: [6, 6, 3], build: (x) => tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }).apply(x), ops: ['DEPTHWISE_CONV_2D'] },
  { name: 'max pool', shape: [6, 6, 2], build: (x) => tf.layers.maxPooling2d({ poolSize: 2 }).apply(x), ops: ['MAX_POOL_2D'] },
  { name: 'average pool same', shape: [5, 5, 2], build: (x) => tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(x), ops: ['AVERAGE_POOL_2D'] },
  { name: 'global average', shape: [4, 4, 3], build: (x) => tf.layers.globalAveragePooling2d({}).apply(x), ops: ['MEAN'] },
  { name: 'flatten', shape: [3, 3, 2], build: (x) => tf.layers.flatten().apply(x), ops: ['RESHAPE'] },
  { name: 'softmax', shape: [10], build: (x) => tf.layers.softmax().apply(x), ops: ['SOFTMAX'] },
  { name: 'add', shape: [8], build: (x) => tf.layers.add().apply([tf.layers.dense({ units: 4 }).apply(x) as any, tf.layers.dense({ units: 4 }).apply(x) as any]), ops: ['FULLY_CONNECTED', 'FULLY_CONNECTED', 'ADD'] },
  { name: 'concatenate', shape: [8], build: (x) => tf.layers.concatenate().apply([tf.layers.dense({ units: 3 }).apply(x) as any, tf.layers.dense({ units: 5 }).apply(x) as any]), ops: ['FULLY_CONNECTED', 'FULLY_CONNECTED', 'CONCATENATION'] },
  { name: 'zero padding', shape: [3, 3, 2], build: (x) => tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }).apply(x), ops: ['PAD'] },
  { name: 'conv + batch norm (folded)', shape: [5, 5, 2], build: (x) => tf.layers.batchNormalization({}).apply(tf.layers.conv2d({ filters: 3, kernelSize: 3 }).apply(x)), ops: ['CONV_2D'] },
];

beforeAll(async () => {
  tf = await loadTf('cpu');
});

describeWithBrowser('TFLite interpreter: each op alone, float32 and int8', () => {
  let session: TfliteSession;
  beforeAll(async () => {
    session = await TfliteSession.open();
  }, 60000);
  afterAll(() => session?.close());

  test('a MobileNet-style functional CNN (depthwise, batch norm, relu6, residual Add, concat, global pooling), float32 I/O int8', async () => {
    const L = tf.layers;
    const x = tf.input({ shape: [12, 12, 3] });
    const stem = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x) as any;
    const stemAct = L.reLU({ maxValue: 6 }).apply(L.batchNormalization({}).apply(stem)) as any;
    const dw = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(stemAct) as any;
    const dwAct = L.reLU({ maxValue: 6 }).apply(L.batchNormalization({}).apply(dw)) as any;
    const project = L.batchNormalization({}).apply(L.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(dwAct)) as any;
    const residual = L.add().apply([stemAct, project]) as any;
    const branch = L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu' }).apply(residual) as any;
    const cat = L.concatenate().apply([residual, branch]) as any;
    const head = L.dense({ units: 5, activation: 'softmax' }).apply(L.globalAveragePooling2d({}).apply(cat)) as any;
    const model = randomize(tf.model({ inputs: x, outputs: head }), 77);
    const graph = graphFromLayers(model);
    const examples = inputsFor([12, 12, 3], 12, 5);
    const flat = new Float32Array(12 * 432);
    examples.forEach((e, k) => flat.set(e, k * 432));

    const floatModel = await session.load(writeTflite(graph));
    const got = await floatModel.run(flat, 12);
    await floatModel.release();
    const want = tf.tidy(() => (model.predict(tf.tensor(flat, [12, 12, 12, 3])) as any).dataSync() as Float32Array);
    let maxDiff = 0;
    for (let k = 0; k < want.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - want[k]!));
    expect(maxDiff).toBeLessThan(1e-4);

    const q = quantizeGraph(graph, calibrate(graph, examples.map((e) => [e])), { io: 'float32' });
    const int8Model = await session.load(writeTflite(q));
    expect([int8Model.inputs[0]!.dataType, int8Model.outputs[0]!.dataType]).toEqual(['float32', 'float32']);
    const gotQ = await int8Model.run(flat, 12);
    await int8Model.release();
    // The output is a dequantized softmax: steps of 1/256.
    let steps = 0;
    examples.forEach((e, k) => {
      const sim = runGraph(q, [e])[0]!;
      for (let j = 0; j < 5; j++) steps = Math.max(steps, Math.abs(gotQ[k * 5 + j]! - sim[j]!) * 256);
    });
    expect(steps).toBeLessThanOrEqual(1 + 1e-6);
  }, 60000);

  test.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const x = tf.input({ shape: c.shape });
    const model = randomize(tf.model({ inputs: x, outputs: c.build(x) }), 100 + i);
    const graph = graphFromLayers(model);
    expect(graph.ops.map((o) => o.op)).toEqual(c.ops);
    const examples = inputsFor(c.shape, 16, 7 + i);
    const outLen = sizeOf(graph.tensors[graph.outputs[0]!]!.shape);

    // float32: the interpreter computes what tfjs computes.
    const floatModel = await session.load(writeTflite(graph));
    expect(floatModel.inputs[0]!.dataType).toBe('float32');
    const flat = new Float32Array(examples.length * examples[0]!.length);
    examples.forEach((e, k) => flat.set(e, k * e.length));
    const got = await floatModel.run(flat, examples.length);
    const want = tf.tidy(() => (model.predict(tf.tensor(flat, [examples.length, ...c.shape])) as any).dataSync() as Float32Array);
    expect(got).toHaveLength(want.length);
    let maxDiff = 0;
    for (let k = 0; k < want.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - want[k]!));
    expect(maxDiff).toBeLessThan(1e-4);
    await floatModel.release();

    // int8: the interpreter computes what the simulation computes, within one step.
    const q = quantizeGraph(graph, calibrate(graph, examples.map((e) => [e])));
    const qin = q.tensors[q.inputs[0]!]!.quant!;
    const qExamples = examples.map((e) => Int8Array.from(e, (v) => Math.max(-128, Math.min(127, Math.round(v / qin.scale[0]!) + qin.zeroPoint[0]!))));
    const int8Model = await session.load(writeTflite(q));
    expect(int8Model.inputs[0]!.dataType).toBe('int8');
    const qflat = new Int8Array(qExamples.length * qExamples[0]!.length);
    qExamples.forEach((e, k) => qflat.set(e, k * e.length));
    const gotQ = await int8Model.run(qflat, qExamples.length);
    let steps = 0;
    qExamples.forEach((e, k) => {
      const sim = runGraph(q, [e])[0]!;
      for (let j = 0; j < outLen; j++) steps = Math.max(steps, Math.abs(gotQ[k * outLen + j]! - sim[j]!));
    });
    expect(steps).toBeLessThanOrEqual(1);
    await int8Model.release();
  }, 60000);
});
