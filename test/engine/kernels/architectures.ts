/**
 * The three architectures the wasm training kernels are meant for, as
 * tf.layers builders. `dropout: false` drops the Dropout layers so gradients
 * are deterministic and comparable across backends.
 */
import { tf } from './helpers.js';

export interface ArchOptions {
  dropout: boolean;
  /** Side of the square single-channel input image (conv models). */
  size?: number;
}

export interface Arch {
  name: 'mlp' | 'lenet5' | 'small-cnn';
  build: (o: ArchOptions) => tf.Sequential;
  /** Input shape without the batch dimension. */
  inputShape: (o: ArchOptions) => number[];
}

export const MLP: Arch = {
  name: 'mlp',
  inputShape: () => [64],
  build: (o) => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [64], units: 32, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 24, activation: 'tanh' }));
    m.add(tf.layers.dense({ units: 24, activation: 'sigmoid' }));
    if (o.dropout) m.add(tf.layers.dropout({ rate: 0.2 }));
    m.add(tf.layers.dense({ units: 16, activation: 'elu' }));
    m.add(tf.layers.dense({ units: 16, activation: 'selu' }));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    return m;
  },
};

/** LeNet-5: conv 5x5 'same' -> maxpool 2/2 -> conv 5x5 'valid' -> avgpool 2/2 -> dense 120, 84, 10. */
export const LENET5: Arch = {
  name: 'lenet5',
  inputShape: (o) => [o.size ?? 28, o.size ?? 28, 1],
  build: (o) => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: LENET5.inputShape(o), filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu' }));
    m.add(tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 120, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 84, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    return m;
  },
};

/** Small CNN: (conv 3x3 'same' relu -> batch norm -> maxpool) x2 -> dropout -> flatten -> dense. */
export const SMALL_CNN: Arch = {
  name: 'small-cnn',
  inputShape: (o) => [o.size ?? 28, o.size ?? 28, 1],
  build: (o) => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: SMALL_CNN.inputShape(o), filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    if (o.dropout) m.add(tf.layers.dropout({ rate: 0.25 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    return m;
  },
};

export const ARCHS: readonly Arch[] = [MLP, LENET5, SMALL_CNN];

export const OPTIMIZERS = {
  sgd: () => tf.train.sgd(0.05),
  momentum: () => tf.train.momentum(0.05, 0.9),
  adam: () => tf.train.adam(1e-3),
} as const;
