/**
 * A tiny MobileNetV2-shaped functional model for the stage tests: the layer
 * kinds and graph shapes a user's Keras model brings (residual Adds, a
 * Concatenate, depthwise and separable convolutions, BatchNormalization,
 * ReLU6, ZeroPadding before a stride-2 depthwise), with Keras-style names,
 * small enough to run every stage in a second.
 *
 *   input_1 8x8x3
 *   Conv1 (8, 3x3, no bias) -> bn_Conv1 -> Conv1_relu (ReLU6)             = x0
 *   block_1: expand 1x1 (16) -> BN -> ReLU6 -> depthwise 3x3 -> BN -> ReLU6
 *            -> project 1x1 (8) -> BN -> block_1_add = x0 + that           = x1
 *   block_2: the same on x1 -> block_2_add                                 = x2
 *   down_pad (ZeroPadding 0/1) -> down_depthwise 3x3/2 -> BN -> ReLU6      = 4x4x8
 *   branch_a 1x1 (6) -> Activation relu | branch_b 1x1 (4) -> BN -> ReLU6 -> concat    = 4x4x10
 *   sep (SeparableConv2D 12, 3x3, relu) -> pool (GAP) -> drop -> predictions (10, softmax)
 *
 * `saveFunctionalModel` writes it with the real saver and a converter-style
 * twin (nested `model_config`, Keras 2 `inbound_nodes`, no `format`), like a
 * user's model on disk.
 */
import { readFile, writeFile, mkdir, copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { Engine } from '../../src/engine/engine.js';
import type { Tf } from '../../src/engine/tf.js';

type Sym = SymbolicTensor;

/** Builds the model with random weights and non-trivial BN statistics (seeded). */
export function buildFunctionalModel(tf: Tf, seed = 7): LayersModel {
  const L = tf.layers;
  const apply = (layer: { apply: (x: Sym | Sym[]) => unknown }, x: Sym | Sym[]) => layer.apply(x) as Sym;
  const relu6 = (name: string, x: Sym) => apply(L.reLU({ name, maxValue: 6 }), x);
  const bn = (name: string, x: Sym) => apply(L.batchNormalization({ name, epsilon: 1e-3, momentum: 0.999 }), x);
  const input = tf.input({ shape: [8, 8, 3], name: 'input_1' });
  let x = apply(L.conv2d({ name: 'Conv1', filters: 8, kernelSize: 3, padding: 'same', useBias: false }), input);
  x = relu6('Conv1_relu', bn('bn_Conv1', x));
  for (const b of [1, 2]) {
    const p = `block_${b}_`;
    let y = apply(L.conv2d({ name: `${p}expand`, filters: 16, kernelSize: 1, useBias: false }), x);
    y = relu6(`${p}expand_relu`, bn(`${p}expand_BN`, y));
    y = apply(L.depthwiseConv2d({ name: `${p}depthwise`, kernelSize: 3, padding: 'same', useBias: false }), y);
    y = relu6(`${p}depthwise_relu`, bn(`${p}depthwise_BN`, y));
    y = apply(L.conv2d({ name: `${p}project`, filters: 8, kernelSize: 1, useBias: false }), y);
    y = bn(`${p}project_BN`, y);
    x = apply(L.add({ name: `${p}add` }), [x, y]);
  }
  x = apply(L.zeroPadding2d({ name: 'down_pad', padding: [[0, 1], [0, 1]] }), x);
  x = apply(L.depthwiseConv2d({ name: 'down_depthwise', kernelSize: 3, strides: 2, padding: 'valid', useBias: false }), x);
  x = relu6('down_relu', bn('down_BN', x));
  let a = apply(L.conv2d({ name: 'branch_a', filters: 6, kernelSize: 1 }), x);
  a = apply(L.activation({ name: 'branch_a_relu', activation: 'relu' }), a);
  let c = apply(L.conv2d({ name: 'branch_b', filters: 4, kernelSize: 1, useBias: false }), x);
  c = relu6('branch_b_relu', bn('branch_b_BN', c));
  x = apply(L.concatenate({ name: 'concat' }), [a, c]);
  x = apply(L.separableConv2d({ name: 'sep', filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }), x);
  x = apply(L.globalAveragePooling2d({ name: 'pool' }), x);
  x = apply(L.dropout({ name: 'drop', rate: 0.2 }), x);
  const out = apply(L.dense({ name: 'predictions', units: 10, activation: 'softmax' }), x);
  const model = tf.model({ name: 'mobilenet_tiny', inputs: input, outputs: out });
  randomize(tf, model, seed);
  return model;
}

/** Seeded weights: kernels and biases around 0, BN gamma/variance around 1, beta/mean around 0. */
export function randomize(tf: Tf, model: LayersModel, seed: number): void {
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (const layer of model.layers) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    layer.setWeights(weights.map((w) => {
      const n = w.shape.reduce((p: number, q) => p * (q ?? 1), 1);
      const name = w.originalName;
      const gen = name.endsWith('/gamma') || name.endsWith('/moving_variance') ? () => 0.5 + rand()
        : name.endsWith('/beta') || name.endsWith('/moving_mean') || name.endsWith('/bias') ? () => rand() - 0.5
          : () => (rand() - 0.5) * 1.2;
      return tf.tensor(Float32Array.from({ length: n }, gen), w.shape as number[]);
    }));
  }
}

/** Deterministic inputs in [0, 1): `count` x 8 x 8 x 3. */
export function functionalInputs(count: number, seed = 3): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count * 8 * 8 * 3 }, () => (s = (s * 16807) % 2147483647) / 2147483647);
}

/**
 * Rewrites a tfjs-saved model.json the way tfjs-converter writes a Keras 2
 * model: the topology nested as `{keras_version, backend, model_config}`, no
 * `format`/`generatedBy` keys (the older manifest), layers keeping Keras 2's
 * list-form `inbound_nodes` (tfjs's own form, identical), weights unchanged.
 */
export async function writeConvertedTwin(savedDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const json = JSON.parse(await readFile(join(savedDir, 'model.json'), 'utf8')) as Record<string, any>;
  const topology = json.modelTopology;
  const converted = {
    modelTopology: {
      keras_version: '2.12.0',
      backend: 'tensorflow',
      model_config: { class_name: 'Functional', config: topology.config },
    },
    weightsManifest: json.weightsManifest,
  };
  await writeFile(join(outDir, 'model.json'), JSON.stringify(converted));
  for (const f of await readdir(savedDir)) if (f.endsWith('.bin')) await copyFile(join(savedDir, f), join(outDir, f));
}

/** Builds, saves (real saver) and writes the converter-style twin; returns both directories. */
export async function saveFunctionalModel(engine: Engine, dir: string, seed = 7): Promise<{ model: LayersModel; saved: string; converted: string }> {
  const tf = await engine.tf();
  const model = buildFunctionalModel(tf, seed);
  const saved = join(dir, 'functional');
  await engine.saveModel(model, saved);
  const converted = join(dir, 'functional-converted');
  await writeConvertedTwin(saved, converted);
  return { model, saved, converted };
}

/**
 * Loads a model directory with stock tfjs only (`tf.io.fromMemory`), not
 * through src/engine/model-io: what a user's app does with the files.
 */
export async function stockLoad(tf: Tf, dir: string): Promise<LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as Record<string, any>;
  const specs: any[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) parts.push(await readFile(join(dir, p)));
  }
  const bytes = Buffer.concat(parts);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

/** Max |a - b| over two equally long arrays, relative to max(1, |b|). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/**
 * A tiny 8x8x3 / 10-class dataset as `.npy` files in `dir` (labels from a
 * fixed rule, so a model can learn something), and the recipe `data:` entry
 * naming them: `{ uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' }`.
 */
export async function writeTinyImages(dir: string, count = 64, seed = 5): Promise<Record<string, unknown>> {
  const x = functionalInputs(count, seed);
  const y = Array.from({ length: count }, (_, i) => {
    let s = 0;
    for (let j = 0; j < 8 * 8 * 3; j += 17) s += x[i * 192 + j]!;
    return Math.floor(s * 7) % 10;
  });
  await writeFile(join(dir, 'tiny-x.npy'), npyBytes('<f4', [count, 8, 8, 3], x));
  await writeFile(join(dir, 'tiny-y.npy'), npyBytes('<i4', [count], y));
  return { uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' };
}

function npyBytes(descr: '<f4' | '<i4', shape: number[], values: ArrayLike<number>): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), } `;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const buf = new Uint8Array(10 + header.length + values.length * 4);
  const v = new DataView(buf.buffer);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  v.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) buf[10 + i] = header.charCodeAt(i);
  for (let i = 0; i < values.length; i++) {
    if (descr === '<f4') v.setFloat32(10 + header.length + 4 * i, values[i]!, true);
    else v.setInt32(10 + header.length + 4 * i, values[i]!, true);
  }
  return buf;
}
