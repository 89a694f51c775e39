/**
 * Small sequence models and sequence data from real MNIST for the
 * compression-stage tests (issue 21): every weight-bearing sequence layer
 * kind tfjs has, built with stock tf.layers, so the stages are tested on the
 * weight names tfjs really produces.
 *
 * - `buildTokenModel`: Embedding -> Bidirectional(LSTM) -> Conv1D ->
 *   LayerNormalization -> TimeDistributed(Dense) -> GRU -> Dense, over
 *   MNIST digits read as 16 tokens (4x4 grid of 7x7 blocks, intensity in 16 levels).
 * - `buildRowModel`: MNIST rows as 28 time steps of 28 features:
 *   Reshape -> SimpleRNN (sequences) -> LSTM -> Dense.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../../src/engine/tf.js';
import type { Dataset } from '../../src/data/dataset.js';

export const TOKENS = 16;
export const VOCAB = 16;

export function buildTokenModel(tf: Tf, seed = 3): LayersModel {
  const L = tf.layers;
  let s = seed;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  return tf.sequential({
    name: 'tokens',
    layers: [
      L.embedding({ name: 'emb', inputDim: VOCAB, outputDim: 8, inputLength: TOKENS, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: s++ }) }),
      L.bidirectional({ name: 'bilstm', layer: L.lstm({ units: 6, returnSequences: true, kernelInitializer: init(), recurrentInitializer: init() }) as never, mergeMode: 'concat' }),
      L.conv1d({ name: 'conv', filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      L.layerNormalization({ name: 'norm' }),
      L.timeDistributed({ name: 'td', layer: L.dense({ units: 8, activation: 'relu', kernelInitializer: init() }) }),
      L.gru({ name: 'gru', units: 8, kernelInitializer: init(), recurrentInitializer: init() }),
      L.dense({ name: 'out', units: 10, activation: 'softmax', kernelInitializer: init() }),
    ],
  });
}

export function buildRowModel(tf: Tf, seed = 5, units: [number, number] = [16, 12]): LayersModel {
  const L = tf.layers;
  let s = seed;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  return tf.sequential({
    name: 'rows',
    layers: [
      L.reshape({ name: 'rows', targetShape: [28, 28], inputShape: [28, 28, 1] }),
      L.simpleRNN({ name: 'rnn', units: units[0], returnSequences: true, kernelInitializer: init(), recurrentInitializer: init() }),
      L.lstm({ name: 'lstm', units: units[1], kernelInitializer: init(), recurrentInitializer: init() }),
      L.dense({ name: 'out', units: 10, activation: 'softmax', kernelInitializer: init() }),
    ],
  });
}

/** Fits `model` briefly (Adam, cross-entropy) so its weights are not just the initialisation. */
export async function fitBriefly(tf: Tf, model: LayersModel, ds: Dataset, epochs = 1, batchSize = 32): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = tf.tensor(ds.x, [ds.count, ...ds.shape]);
  const y = tf.oneHot(tf.tensor1d(ds.y, 'int32'), ds.classes);
  await model.fit(x, y, { epochs, batchSize, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}

/** MNIST digits (28x28x1 in [0, 1]) as 16 tokens: 7x7 block means in 16 levels (short sequences keep tests fast). */
export function digitsAsTokens(ds: Dataset): Float32Array {
  const out = new Float32Array(ds.count * TOKENS);
  for (let n = 0; n < ds.count; n++) {
    for (let by = 0; by < 4; by++) {
      for (let bx = 0; bx < 4; bx++) {
        let s = 0;
        for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) s += ds.x[n * 784 + (by * 7 + y) * 28 + bx * 7 + x]!;
        // Block means rarely pass 0.5: stretch them so the 16 levels are all used.
        out[n * TOKENS + by * 4 + bx] = Math.min(VOCAB - 1, Math.floor((2 * s / 49) * VOCAB));
      }
    }
  }
  return out;
}

/** Writes an `npy` dataset (x float32 [n, ...shape], y int32 [n]) under `dir`; returns its `data:` entry. */
export async function writeNpyDataset(dir: string, name: string, x: Float32Array, shape: number[], y: Int32Array): Promise<{ uses: 'npy'; x: string; y: string; classes: number }> {
  await mkdir(dir, { recursive: true });
  const n = y.length;
  await writeFile(join(dir, `${name}-x.npy`), npyBytes('<f4', [n, ...shape], x));
  await writeFile(join(dir, `${name}-y.npy`), npyBytes('<i4', [n], y));
  return { uses: 'npy', x: join(dir, `${name}-x.npy`), y: join(dir, `${name}-y.npy`), classes: 10 };
}

function npyBytes(descr: '<f4' | '<i4', shape: number[], values: Float32Array | Int32Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), } `;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const buf = new Uint8Array(10 + header.length + values.length * 4);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(buf.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) buf[10 + i] = header.charCodeAt(i);
  buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 10 + header.length);
  return buf;
}
