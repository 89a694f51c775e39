/**
 * Builds the architectures a recipe can name under `model.build`
 * (docs/recipes.md, schemas/recipe.schema.json `$defs.build`), untrained and
 * uncompiled (compiling belongs to the stage that trains).
 *
 * Reproducible by construction: same spec + same seed -> byte-identical saved
 * model (see model-io.ts).
 * - Every kernel initializer gets its own seed, derived from the recipe seed
 *   and the layer's position; one seed for all would give layers of the same
 *   shape identical weights. Biases start at zero, batch-norm statistics at
 *   their constant defaults.
 * - Every layer and the model get explicit names (`dense1`, `conv1`, `pool1`,
 *   ...): tfjs's default names (`dense_Dense3`) come from a process-wide
 *   counter, so they would differ between runs and change the digest.
 * - Dropout layers get no seed on purpose: tfjs re-seeds its generator on
 *   every call, so a seeded dropout would drop the same units in every batch.
 */
import type { LayersModel, Sequential } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';

export type Arch = 'mlp' | 'lenet5' | 'cnn';
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'selu' | 'linear';

export const ARCHS: readonly Arch[] = ['mlp', 'lenet5', 'cnn'];
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'linear'];

/** `model.build` in a recipe. */
export interface BuildSpec {
  arch: Arch;
  /** Input shape without the batch dimension. Default: [784] for mlp, [28, 28, 1] otherwise. */
  inputShape?: readonly number[];
  /** Output classes (softmax width). Default: 10. */
  classes?: number;
  /** mlp: hidden layer widths. Default: [300, 100] (LeNet-300-100). */
  units?: readonly number[];
  /** cnn: filters per conv block. Default: [8, 16]. */
  filters?: readonly number[];
  /** cnn: conv kernel size. Default: 3. (LeNet-5's kernels are fixed at 5x5.) */
  kernelSize?: number;
  /** Hidden-layer activation. Default: 'relu'. */
  activation?: Activation;
  /** Dropout rate after each hidden dense layer (cnn: before the classifier), 0 <= x < 1. Default: 0 (none). */
  dropout?: number;
}

/** What `Sequential.add` accepts. */
type Layer = Parameters<Sequential['add']>[0];

/**
 * Builds `spec` with weights initialised from `seed`.
 *
 * - mlp: [flatten if the input has rank > 1] -> dense{i} (units[i], activation)
 *   [-> dropout{i}] ... -> dense{n+1} (classes, softmax).
 * - lenet5: LeNet-5 as in Caffe's MNIST example and Deep Compression (Han et
 *   al. 2016; 431,080 parameters for 10 classes): conv1 20@5x5 -> pool1 2x2 ->
 *   conv2 50@5x5 -> pool2 2x2 -> flatten -> dense1 500 (activation)
 *   [-> dropout1] -> dense2 (classes, softmax). Caffe's convolutions have no
 *   activation, so neither do these.
 * - cnn: per filters[i]: conv{i} (kernelSize, same padding, activation) ->
 *   bn{i} -> pool{i} 2x2; then flatten [-> dropout1] -> dense1 (classes, softmax).
 *
 * Conv archs take an image shape [h, w, c]; [h, w] and a square [n] (e.g.
 * [784], flattened MNIST) are reshaped to [h, w, 1] by a first `reshape` layer.
 *
 * @throws TypeError "Expected X, got Y" for an invalid spec or seed.
 */
export function buildModel(tf: Tf, spec: BuildSpec, seed: number): LayersModel {
  if (!Number.isSafeInteger(seed)) throw new TypeError(`Expected seed to be an integer, got ${show(seed)}`);
  const s = checkSpec(spec);
  const model = tf.sequential({ name: s.arch });
  // Every arch's first layer receives the input shape as given.
  const add = new Adder(tf, model, seed, s.inputShape);

  if (s.arch === 'mlp') {
    if (s.inputShape.length > 1) add.layer((i) => tf.layers.flatten({ name: 'flatten', ...i }));
    s.units.forEach((units, k) => {
      add.layer((i) => tf.layers.dense({ name: `dense${k + 1}`, units, activation: s.activation, ...add.kernel(), ...i }));
      if (s.dropout > 0) add.layer((i) => tf.layers.dropout({ name: `dropout${k + 1}`, rate: s.dropout, ...i }));
    });
    add.layer((i) =>
      tf.layers.dense({ name: `dense${s.units.length + 1}`, units: s.classes, activation: 'softmax', ...add.kernel(), ...i }),
    );
    return model;
  }

  const image = imageShape(s.inputShape, s.arch, s.arch === 'lenet5' ? 2 : s.filters.length);
  if (image.reshape) add.layer((i) => tf.layers.reshape({ name: 'reshape', targetShape: image.shape, ...i }));

  if (s.arch === 'lenet5') {
    [20, 50].forEach((filters, k) => {
      add.layer((i) =>
        tf.layers.conv2d({ name: `conv${k + 1}`, filters, kernelSize: 5, padding: 'valid', ...add.kernel(), ...i }),
      );
      add.layer((i) => tf.layers.maxPooling2d({ name: `pool${k + 1}`, poolSize: 2, strides: 2, ...i }));
    });
    add.layer((i) => tf.layers.flatten({ name: 'flatten', ...i }));
    add.layer((i) => tf.layers.dense({ name: 'dense1', units: 500, activation: s.activation, ...add.kernel(), ...i }));
    if (s.dropout > 0) add.layer((i) => tf.layers.dropout({ name: 'dropout1', rate: s.dropout, ...i }));
    add.layer((i) => tf.layers.dense({ name: 'dense2', units: s.classes, activation: 'softmax', ...add.kernel(), ...i }));
    return model;
  }

  s.filters.forEach((filters, k) => {
    add.layer((i) =>
      tf.layers.conv2d({
        name: `conv${k + 1}`,
        filters,
        kernelSize: s.kernelSize,
        padding: 'same',
        activation: s.activation,
        ...add.kernel(),
        ...i,
      }),
    );
    add.layer((i) => tf.layers.batchNormalization({ name: `bn${k + 1}`, ...i }));
    add.layer((i) => tf.layers.maxPooling2d({ name: `pool${k + 1}`, poolSize: 2, strides: 2, ...i }));
  });
  add.layer((i) => tf.layers.flatten({ name: 'flatten', ...i }));
  if (s.dropout > 0) add.layer((i) => tf.layers.dropout({ name: 'dropout1', rate: s.dropout, ...i }));
  add.layer((i) => tf.layers.dense({ name: 'dense1', units: s.classes, activation: 'softmax', ...add.kernel(), ...i }));
  return model;
}

/**
 * The kernel seed of the layer at `index`: the seed and the index mixed into
 * a 32-bit integer (murmur3-style finaliser). Same function as examples/custom-stages'
 * example's init-mlp stage, so seeds below 2^32 give the same values there.
 */
export function layerSeed(seed: number, index: number): number {
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  if (high !== 0) h ^= Math.imul(high, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Adds layers in order: the first gets the input shape, each kernel its seed. */
class Adder {
  private index = 0;

  constructor(
    private readonly tf: Tf,
    private readonly model: Sequential,
    private readonly seed: number,
    private readonly inputShape: number[],
  ) {}

  /** `make` receives `{inputShape}` for the first layer, `{}` after. */
  layer(make: (input: { inputShape?: number[] }) => Layer): void {
    const input = this.index === 0 ? { inputShape: this.inputShape } : {};
    this.model.add(make(input));
    this.index++;
  }

  /** Seeded Glorot-uniform kernel and zero bias for the layer about to be added. */
  kernel(): { kernelInitializer: ReturnType<Tf['initializers']['glorotUniform']>; biasInitializer: 'zeros' } {
    return {
      kernelInitializer: this.tf.initializers.glorotUniform({ seed: layerSeed(this.seed, this.index) }),
      biasInitializer: 'zeros',
    };
  }
}

interface CheckedSpec {
  arch: Arch;
  inputShape: number[];
  classes: number;
  units: number[];
  filters: number[];
  kernelSize: number;
  activation: Activation;
  dropout: number;
}

function checkSpec(spec: BuildSpec): CheckedSpec {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`Expected a build spec object, got ${show(spec)}`);
  const { arch } = spec;
  if (!ARCHS.includes(arch)) throw new TypeError(`Expected arch to be one of ${ARCHS.join(', ')}, got ${show(arch)}`);
  if (spec.units !== undefined && arch !== 'mlp') throw new TypeError(`Expected no units for arch ${arch} (units is for mlp)`);
  if (spec.filters !== undefined && arch !== 'cnn') {
    throw new TypeError(`Expected no filters for arch ${arch} (filters is for cnn)`);
  }
  const inputShape = positiveInts('inputShape', spec.inputShape ?? (arch === 'mlp' ? [784] : [28, 28, 1]), 1, 4);
  const classes = spec.classes ?? 10;
  if (!Number.isInteger(classes) || classes < 2) throw new TypeError(`Expected classes to be an integer >= 2, got ${show(classes)}`);
  const kernelSize = spec.kernelSize ?? 3;
  if (!Number.isInteger(kernelSize) || kernelSize < 1) {
    throw new TypeError(`Expected kernelSize to be a positive integer, got ${show(kernelSize)}`);
  }
  const activation = spec.activation ?? 'relu';
  if (!ACTIVATIONS.includes(activation)) {
    throw new TypeError(`Expected activation to be one of ${ACTIVATIONS.join(', ')}, got ${show(activation)}`);
  }
  const dropout = spec.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new TypeError(`Expected dropout to be a number with 0 <= dropout < 1, got ${show(dropout)}`);
  }
  return {
    arch,
    inputShape,
    classes,
    units: positiveInts('units', spec.units ?? [300, 100], 1),
    filters: positiveInts('filters', spec.filters ?? [8, 16], 1),
    kernelSize,
    activation,
    dropout,
  };
}

function positiveInts(key: string, value: readonly number[], minItems: number, maxItems = Infinity): number[] {
  if (
    !Array.isArray(value) ||
    value.length < minItems ||
    value.length > maxItems ||
    !value.every((v) => Number.isInteger(v) && v >= 1)
  ) {
    const count = maxItems === Infinity ? `at least ${minItems}` : `${minItems} to ${maxItems}`;
    throw new TypeError(`Expected ${key} to be a list of ${count} positive integers, got ${show(value)}`);
  }
  return [...value];
}

/** The [h, w, c] image a conv arch sees, and whether a reshape layer must make it. */
function imageShape(shape: number[], arch: Arch, pools: number): { shape: [number, number, number]; reshape: boolean } {
  let image: [number, number, number] | undefined;
  let reshape = true;
  const [a = 0, b = 0, c = 0] = shape;
  if (shape.length === 3) {
    image = [a, b, c];
    reshape = false;
  } else if (shape.length === 2) {
    image = [a, b, 1];
  } else if (shape.length === 1 && Number.isInteger(Math.sqrt(a))) {
    image = [Math.sqrt(a), Math.sqrt(a), 1];
  }
  if (!image) {
    throw new TypeError(`Expected inputShape for ${arch} to be [h, w, c], [h, w] or a square [n], got ${show(shape)}`);
  }
  // The spatial size left after the arch's convolutions and 2x2 pools must
  // stay >= 1 (tfjs would otherwise fail with a negative-dimension error).
  // lenet5: two valid 5x5 convs, each followed by a pool: 16x16 at least.
  // cnn: same-padded convs, one pool per block: 2^blocks at least.
  const min = arch === 'lenet5' ? 16 : 2 ** pools;
  if (image[0] < min || image[1] < min) {
    throw new TypeError(`Expected inputShape for ${arch} to be at least ${min}x${min}, got ${show(shape)}`);
  }
  return { shape: image, reshape };
}

function show(value: unknown): string {
  if (typeof value === 'number') return String(value); // NaN, not JSON's "null"
  return JSON.stringify(value) ?? String(value);
}
