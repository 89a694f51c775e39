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
 * - Functional archs (transformer) have no single layer order to count, so
 *   their n-th seeded initializer gets `layerSeed(seed, n)`, in build order.
 *
 * Every layer is a stock tfjs layer: a saved model loads in stock
 * `tf.loadLayersModel`, without modelpress (attention.ts says why that
 * rules out tfjs's own MultiHeadAttention).
 */
import type { LayersModel, Sequential, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { multiHeadSelfAttention } from './attention.js';
import type { Tf } from './tf.js';

export type Arch = 'mlp' | 'lenet5' | 'cnn' | 'lstm' | 'gru' | 'conv1d' | 'transformer';
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'selu' | 'linear';
export type Pooling = 'average' | 'max';

export const ARCHS: readonly Arch[] = ['mlp', 'lenet5', 'cnn', 'lstm', 'gru', 'conv1d', 'transformer'];
/** Archs that read a sequence: [time, features], or [time] token ids with `embedding`. */
export const SEQUENCE_ARCHS: readonly Arch[] = ['lstm', 'gru', 'conv1d', 'transformer'];
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'linear'];
export const POOLINGS: readonly Pooling[] = ['average', 'max'];

/** `build.embedding`: integer token ids in, `dimensions` floats per token out. */
export interface EmbeddingSpec {
  /** Token ids are 0 .. vocabulary - 1. */
  vocabulary: number;
  /** Width of each token's vector. */
  dimensions: number;
  /** lstm/gru: token 0 is padding, skipped by the recurrent layers. Default: false. */
  maskZero?: boolean;
}

/** `model.build` in a recipe. */
export interface BuildSpec {
  arch: Arch;
  /** Input shape without the batch dimension. Default: see {@link defaultInputShape}. */
  inputShape?: readonly number[];
  /** Output classes (softmax width). Default: 10. */
  classes?: number;
  /** mlp: hidden layer widths. Default: [300, 100] (LeNet-300-100). lstm/gru: stacked recurrent layers' units. Default: [128]. */
  units?: readonly number[];
  /** cnn: filters per conv block. Default: [8, 16]. conv1d: Default: [32, 64]. */
  filters?: readonly number[];
  /** cnn, conv1d: conv kernel size. Default: 3. (LeNet-5's kernels are fixed at 5x5.) */
  kernelSize?: number;
  /** Hidden-layer activation (transformer: of the feed-forward's first layer). Default: 'relu'. */
  activation?: Activation;
  /**
   * Dropout rate, 0 <= x < 1. Default: 0 (none). mlp: after each hidden dense
   * layer; cnn, conv1d: before the classifier; lstm/gru: after each recurrent
   * layer; transformer: on the attention and feed-forward outputs before each
   * residual Add.
   */
  dropout?: number;
  /** lstm, gru, conv1d, transformer: integer token input through an Embedding layer. Default: none (float features). */
  embedding?: EmbeddingSpec;
  /** lstm, gru: wrap each recurrent layer in Bidirectional (concatenated). Default: false. */
  bidirectional?: boolean;
  /** conv1d: global pooling over time before the classifier. Default: 'average'. */
  pooling?: Pooling;
  /** transformer: model width. Default: 64. */
  dimensions?: number;
  /** transformer: encoder blocks. Default: 2. */
  blocks?: number;
  /** transformer: attention heads per block; must divide dimensions. Default: 4. */
  heads?: number;
  /** transformer: hidden width of each block's feed-forward. Default: 2 * dimensions. */
  feedForward?: number;
}

/**
 * The input shape a spec gets when it names none (and `validate` could not
 * take it from the data): [784] for mlp, [28, 28, 1] for lenet5 and cnn,
 * [28, 28] (28 time steps of 28 features: sequential MNIST) for the sequence
 * archs, [64] token ids for a sequence arch with `embedding`.
 */
export function defaultInputShape(spec: Pick<BuildSpec, 'arch' | 'embedding'>): number[] {
  if (spec.arch === 'mlp') return [784];
  if (!SEQUENCE_ARCHS.includes(spec.arch)) return [28, 28, 1];
  return spec.embedding !== undefined ? [64] : [28, 28];
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
 * Sequence archs take [time, features], or [time] token ids when
 * `embedding` is set (then `embedding` Embedding(vocabulary, dimensions) is
 * their first layer):
 * - lstm, gru: per units[i]: lstm{i} / gru{i} (return sequences except the
 *   last; Bidirectional-wrapped, concatenated, if `bidirectional`)
 *   [-> dropout{i}] -> dense1 (classes, softmax). Gates use 'sigmoid'
 *   (Keras's default; tfjs defaults to 'hardSigmoid'), recurrent kernels a
 *   seeded Glorot-uniform init (not orthogonal: buildRecurrent says why),
 *   LSTM forget-gate biases start at 1 (unitForgetBias).
 * - conv1d: per filters[i]: conv{i} (kernelSize, same padding, activation),
 *   then pool{i} MaxPooling1D 2 between blocks; then `pool` global
 *   average/max over time [-> dropout1] -> dense1 (classes, softmax).
 * - transformer: see {@link buildTransformer}.
 *
 * @throws TypeError "Expected X, got Y" for an invalid spec or seed.
 */
export function buildModel(tf: Tf, spec: BuildSpec, seed: number): LayersModel {
  if (!Number.isSafeInteger(seed)) throw new TypeError(`Expected seed to be an integer, got ${show(seed)}`);
  const s = checkSpec(spec);
  if (s.arch === 'transformer') return buildTransformer(tf, s, seed);
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

  if (s.arch === 'lstm' || s.arch === 'gru') {
    buildRecurrent(tf, add, s);
    return model;
  }
  if (s.arch === 'conv1d') {
    buildConv1d(tf, add, s);
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
 * Checks `spec` as {@link buildModel} would, without tfjs: `validate` calls
 * it once shapes are inferred, so a spec the builder would refuse (an lstm
 * given image-shaped data) is a located recipe error, not a failed run.
 *
 * @throws TypeError "Expected X, got Y", the message buildModel would throw.
 */
export function checkBuildSpec(spec: BuildSpec): void {
  checkSpec(spec);
}

/** lstm / gru into `add`'s Sequential (see buildModel). */
function buildRecurrent(tf: Tf, add: Adder, s: CheckedSpec): void {
  if (s.embedding) add.layer((i) => embeddingLayer(tf, s.embedding!, add.seedHere(), i));
  s.units.forEach((units, k) => {
    const name = `${s.arch}${k + 1}`;
    const seed = add.seedHere();
    const config = {
      name,
      units,
      // Stacked recurrent layers hand the whole sequence on; the last hands
      // its final state to the classifier.
      returnSequences: k < s.units.length - 1,
      recurrentActivation: 'sigmoid' as const,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      // Not Keras's orthogonal default: tfjs 4.22 computes it with a QR
      // decomposition in JS ops that took 250 s for lstm 128's 128x512
      // recurrent kernel (cpu backend). Glorot-uniform, seeded, instead.
      recurrentInitializer: tf.initializers.glorotUniform({ seed: layerSeed(seed, 1) }),
      biasInitializer: 'zeros' as const,
    };
    const make = (extra: { inputShape?: number[] }) =>
      s.arch === 'lstm' ? tf.layers.lstm({ ...config, unitForgetBias: true, ...extra }) : tf.layers.gru({ ...config, ...extra });
    if (!s.bidirectional) {
      add.layer((i) => make(i));
    } else {
      add.layer((i) => tf.layers.bidirectional({ name, layer: make({}) as never, mergeMode: 'concat', ...i }));
      reseedBackward(tf, add.last(), seed);
    }
    if (s.dropout > 0) add.layer((i) => tf.layers.dropout({ name: `dropout${k + 1}`, rate: s.dropout, ...i }));
  });
  add.layer((i) => tf.layers.dense({ name: 'dense1', units: s.classes, activation: 'softmax', ...add.kernel(), ...i }));
}

/**
 * tfjs's Bidirectional makes its backward layer from the forward layer's
 * config, seeds included, so both directions would start with identical
 * weights. Re-draws the backward kernels from seeds of their own (the bias
 * keeps its constant init).
 */
function reseedBackward(tf: Tf, layer: unknown, seed: number): void {
  const backward = (layer as { backwardLayer: { getWeights(): Tensor[]; setWeights(w: Tensor[]): void } }).backwardLayer;
  const [kernel, recurrent, bias] = backward.getWeights();
  const fresh = [
    tf.initializers.glorotUniform({ seed: layerSeed(seed, 2) }).apply(kernel!.shape),
    tf.initializers.glorotUniform({ seed: layerSeed(seed, 3) }).apply(recurrent!.shape),
  ];
  backward.setWeights([...fresh, bias!]);
  tf.dispose(fresh);
}

/** conv1d into `add`'s Sequential (see buildModel). */
function buildConv1d(tf: Tf, add: Adder, s: CheckedSpec): void {
  if (s.embedding) add.layer((i) => embeddingLayer(tf, s.embedding!, add.seedHere(), i));
  s.filters.forEach((filters, k) => {
    if (k > 0) add.layer((i) => tf.layers.maxPooling1d({ name: `pool${k}`, poolSize: 2, strides: 2, ...i }));
    add.layer((i) =>
      tf.layers.conv1d({ name: `conv${k + 1}`, filters, kernelSize: s.kernelSize, padding: 'same', activation: s.activation, ...add.kernel(), ...i }),
    );
  });
  add.layer((i) =>
    s.pooling === 'max' ? tf.layers.globalMaxPooling1d({ name: 'pool', ...i }) : tf.layers.globalAveragePooling1d({ name: 'pool', ...i }),
  );
  if (s.dropout > 0) add.layer((i) => tf.layers.dropout({ name: 'dropout1', rate: s.dropout, ...i }));
  add.layer((i) => tf.layers.dense({ name: 'dense1', units: s.classes, activation: 'softmax', ...add.kernel(), ...i }));
}

/** `embedding`: Embedding(vocabulary, dimensions), seeded uniform in [-0.05, 0.05] (Keras's default range). */
function embeddingLayer(tf: Tf, e: EmbeddingSpec, seed: number, input: { inputShape?: number[] }): Layer {
  return tf.layers.embedding({
    name: 'embedding',
    inputDim: e.vocabulary,
    outputDim: e.dimensions,
    maskZero: e.maskZero ?? false,
    embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }),
    ...input,
  });
}

/**
 * A small post-norm transformer encoder classifier (Vaswani et al. 2017),
 * functional, stock layers only:
 *
 *     input [T, F] -> projection Dense(dimensions)    (or [T] -> embedding)
 *     + learned positional embedding [T, dimensions]  (position_* layers)
 *     per block b: x = block{b}_norm1(x + attention(x))       (attention.ts)
 *                  x = block{b}_norm2(x + block{b}_ffn2(block{b}_ffn1(x)))
 *     -> pool GlobalAveragePooling1D -> [dropout] -> dense1 (classes, softmax)
 *
 * The positional embedding: tfjs has no layer that adds a trainable [T, d]
 * weight, and a constant positions input would make every dataset supply
 * one. So the table is the single row of `position_embedding`, an
 * Embedding(1, T * d) looked up at index 0: `position_zeros` (Rescaling by 0)
 * and two global average pools turn the input into a [B, 1] zero index,
 * `position_reshape` makes the row [T, d], `position_add` adds it. All stock
 * layers; T * d parameters, exactly the table. (An input holding Inf or NaN
 * would make the index NaN; sequences of finite numbers are assumed.)
 */
function buildTransformer(tf: Tf, s: CheckedSpec, seed: number): LayersModel {
  let seeds = 0;
  const nextSeed = () => layerSeed(seed, seeds++);
  const kernel = () => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }), biasInitializer: 'zeros' as const });
  const apply = <T extends SymbolicTensor | SymbolicTensor[]>(layer: { apply(x: T): unknown }, x: T) => layer.apply(x) as SymbolicTensor;
  const d = s.dimensions;
  const [time = 1, features = 1] = s.inputShape;

  const input = tf.input({ shape: s.inputShape, name: 'input' });
  let x = s.embedding
    ? apply(embeddingLayer(tf, s.embedding, nextSeed(), {}) as never, input)
    : apply(tf.layers.dense({ name: 'projection', units: d, ...kernel() }), input);

  let zeros = apply(tf.layers.rescaling({ name: 'position_zeros', scale: 0, offset: 0 }), input);
  if (!s.embedding) {
    zeros = apply(tf.layers.globalAveragePooling1d({ name: 'position_pool1' }), zeros); // [B, F]
    zeros = apply(tf.layers.reshape({ name: 'position_column', targetShape: [features, 1] }), zeros);
  } else {
    zeros = apply(tf.layers.reshape({ name: 'position_column', targetShape: [time, 1] }), zeros);
  }
  zeros = apply(tf.layers.globalAveragePooling1d({ name: 'position_index' }), zeros); // [B, 1], all 0
  let table = apply(
    tf.layers.embedding({
      name: 'position_embedding',
      inputDim: 1,
      outputDim: time * d,
      // Small, like BERT's 0.02-stddev positions: they start as a nudge, not noise over the content.
      embeddingsInitializer: tf.initializers.truncatedNormal({ stddev: 0.02, seed: nextSeed() }),
    }),
    zeros,
  );
  table = apply(tf.layers.reshape({ name: 'position_reshape', targetShape: [time, d] }), table);
  x = apply(tf.layers.add({ name: 'position_add' }), [x, table]);

  const dropout = (name: string, t: SymbolicTensor) => (s.dropout > 0 ? apply(tf.layers.dropout({ name, rate: s.dropout }), t) : t);
  for (let b = 1; b <= s.blocks; b++) {
    const attention = multiHeadSelfAttention(tf, x, { block: b, heads: s.heads, keyDim: d / s.heads, dimensions: d, kernel });
    x = apply(tf.layers.add({ name: `block${b}_add1` }), [x, dropout(`block${b}_dropout1`, attention)]);
    x = apply(tf.layers.layerNormalization({ name: `block${b}_norm1` }), x);
    let f = apply(tf.layers.dense({ name: `block${b}_ffn1`, units: s.feedForward, activation: s.activation, ...kernel() }), x);
    f = apply(tf.layers.dense({ name: `block${b}_ffn2`, units: d, ...kernel() }), f);
    x = apply(tf.layers.add({ name: `block${b}_add2` }), [x, dropout(`block${b}_dropout2`, f)]);
    x = apply(tf.layers.layerNormalization({ name: `block${b}_norm2` }), x);
  }
  x = apply(tf.layers.globalAveragePooling1d({ name: 'pool' }), x);
  x = dropout('dropout1', x);
  const output = apply(tf.layers.dense({ name: 'dense1', units: s.classes, activation: 'softmax', ...kernel() }), x);
  return tf.model({ name: 'transformer', inputs: input, outputs: output });
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

  /** The seed of the layer about to be added. */
  seedHere(): number {
    return layerSeed(this.seed, this.index);
  }

  /** The layer added last. */
  last(): unknown {
    return this.model.layers[this.model.layers.length - 1];
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
  embedding: Required<EmbeddingSpec> | undefined;
  bidirectional: boolean;
  pooling: Pooling;
  dimensions: number;
  blocks: number;
  heads: number;
  feedForward: number;
}

/** Which archs each arch-specific option is for (an option given to another arch is a mistake worth naming). */
const OPTION_ARCHS: Record<string, readonly Arch[]> = {
  units: ['mlp', 'lstm', 'gru'],
  filters: ['cnn', 'conv1d'],
  embedding: SEQUENCE_ARCHS,
  bidirectional: ['lstm', 'gru'],
  pooling: ['conv1d'],
  dimensions: ['transformer'],
  blocks: ['transformer'],
  heads: ['transformer'],
  feedForward: ['transformer'],
};

function checkSpec(spec: BuildSpec): CheckedSpec {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`Expected a build spec object, got ${show(spec)}`);
  const { arch } = spec;
  if (!ARCHS.includes(arch)) throw new TypeError(`Expected arch to be one of ${ARCHS.join(', ')}, got ${show(arch)}`);
  for (const [key, archs] of Object.entries(OPTION_ARCHS)) {
    if ((spec as unknown as Record<string, unknown>)[key] !== undefined && !archs.includes(arch)) {
      throw new TypeError(`Expected no ${key} for arch ${arch} (${key} is for ${archs.join(', ')})`);
    }
  }
  const sequence = SEQUENCE_ARCHS.includes(arch);
  const embedding = checkEmbedding(spec.embedding, arch);
  const inputShape = positiveInts('inputShape', spec.inputShape ?? defaultInputShape(spec), 1, 4);
  if (sequence) {
    const rank = embedding ? 1 : 2;
    if (inputShape.length !== rank) {
      const want = embedding ? '[time] (token ids, with embedding)' : '[time, features] (without embedding)';
      throw new TypeError(`Expected inputShape for ${arch} to be ${want}, got ${show(inputShape)}`);
    }
  }
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
  const bidirectional = spec.bidirectional ?? false;
  if (typeof bidirectional !== 'boolean') throw new TypeError(`Expected bidirectional to be true or false, got ${show(bidirectional)}`);
  const pooling = spec.pooling ?? 'average';
  if (!POOLINGS.includes(pooling)) throw new TypeError(`Expected pooling to be one of ${POOLINGS.join(', ')}, got ${show(pooling)}`);
  const dimensions = positiveInt('dimensions', spec.dimensions ?? 64);
  const heads = positiveInt('heads', spec.heads ?? 4);
  if (arch === 'transformer' && dimensions % heads !== 0) {
    throw new TypeError(`Expected heads to divide dimensions (each head gets dimensions / heads), got dimensions ${dimensions} and heads ${heads}`);
  }
  if (arch === 'transformer' && embedding && embedding.dimensions !== dimensions) {
    throw new TypeError(
      `Expected embedding.dimensions to equal dimensions for arch transformer (the embedding is the projection), got ${embedding.dimensions} and ${dimensions}`,
    );
  }
  const filters = positiveInts('filters', spec.filters ?? (arch === 'conv1d' ? [32, 64] : [8, 16]), 1);
  if (arch === 'conv1d' && inputShape[0]! < 2 ** (filters.length - 1)) {
    // One 2x max pool between blocks: the time axis must survive them.
    throw new TypeError(
      `Expected inputShape for conv1d to have at least ${2 ** (filters.length - 1)} time steps for ${filters.length} blocks, got ${show(inputShape)}`,
    );
  }
  return {
    arch,
    inputShape,
    classes,
    units: positiveInts('units', spec.units ?? (arch === 'mlp' ? [300, 100] : [128]), 1),
    filters,
    kernelSize,
    activation,
    dropout,
    embedding,
    bidirectional,
    pooling,
    dimensions,
    blocks: positiveInt('blocks', spec.blocks ?? 2),
    heads,
    feedForward: positiveInt('feedForward', spec.feedForward ?? 2 * dimensions),
  };
}

function checkEmbedding(e: EmbeddingSpec | undefined, arch: Arch): Required<EmbeddingSpec> | undefined {
  if (e === undefined) return undefined;
  if (e === null || typeof e !== 'object') throw new TypeError(`Expected embedding to be { vocabulary, dimensions }, got ${show(e)}`);
  const vocabulary = positiveInt('embedding.vocabulary', e.vocabulary);
  const dimensions = positiveInt('embedding.dimensions', e.dimensions);
  const maskZero = e.maskZero ?? false;
  if (typeof maskZero !== 'boolean') throw new TypeError(`Expected embedding.maskZero to be true or false, got ${show(maskZero)}`);
  if (maskZero && arch !== 'lstm' && arch !== 'gru') {
    // Conv1D and the Dot layers of attention do not take Keras masks.
    throw new TypeError(`Expected no embedding.maskZero for arch ${arch} (only lstm and gru skip masked steps)`);
  }
  return { vocabulary, dimensions, maskZero };
}

function positiveInt(key: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new TypeError(`Expected ${key} to be a positive integer, got ${show(value)}`);
  return value as number;
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
