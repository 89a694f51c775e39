/**
 * The in-memory dataset every stage consumes, and the few operations stages
 * need on it (slices, seeded splits, seeded batches).
 *
 * Plain typed arrays, no tfjs: loaders run before an engine is chosen and in
 * any worker, and a stage converts exactly the batch it needs to tensors
 * (see stages/training/train-loop.ts), so no tensor memory is held for a whole dataset.
 */
import { canonicalJson, sha256Hex } from '../cache/canonical-json.js';
import type { TextEncoding } from './text/text-encoding.js';

export interface Dataset {
  /** The dataset's name in the recipe (`train`, `test`), or a descriptive default. */
  name: string;
  /** Features, `count * product(shape)` values, example after example (row-major). */
  x: Float32Array;
  /** Class index per example, each in `0 .. classes - 1`. */
  y: Int32Array;
  /** Number of examples. */
  count: number;
  /** Shape of one example, without the batch dimension: `[28, 28, 1]`, `[784]`, `[4]`. */
  shape: number[];
  /** Number of classes (the width of a one-hot label). */
  classes: number;
  /**
   * Class names in index order (`classNames[y[i]]`), when the data names its
   * classes (an `images` folder per class); reports can show them.
   */
  classNames?: string[];
  /**
   * Token-id data (the `text` loader): the token of each id, `vocabulary[id]`,
   * id 0 `<pad>`, id 1 `<unk>`. The features are these ids (as float32). Kept
   * with the data so the model can ship with the mapping it was trained on
   * (see data/text/vocabulary.ts for the file form).
   */
  vocabulary?: string[];
  /**
   * Token-id data made from text: the tokenizer and the length rule that,
   * with `vocabulary`, turn a new string into the ids this data holds.
   */
  textEncoding?: TextEncoding;
  /**
   * `false` for data without labels (an `images` folder with no class
   * folders): `y` is all -1 and `classes` may be 0. A stage that needs labels
   * must refuse such data; evaluation can judge by agreement with a
   * reference model instead. Absent means labelled.
   */
  labelled?: boolean;
  /**
   * `sha256:<hex>` identity of the content: source file bytes plus the options
   * that shape the result. Enters cache keys, so it changes exactly when the
   * data a stage sees would change.
   */
  fingerprint: string;
}

/** Values per example: the product of `shape` (1 for a scalar example). */
export function exampleSize(ds: Pick<Dataset, 'shape'>): number {
  let n = 1;
  for (const d of ds.shape) n *= d;
  return n;
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, one add and a few
 * xor-shift-multiplies per draw. Chosen over Math.random because it is seeded
 * (same seed, same sequence on every machine and run: the cache and
 * `reproduce` depend on that) and over a cryptographic generator because
 * shuffles need speed, not secrecy. Period 2^32, which is plenty for
 * shuffling datasets of millions of examples a few hundred times.
 *
 * Returns a function giving floats uniformly in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded PRNG for dataset operations. The seed must be an integer (a
 * fraction would silently collapse onto another seed); negative seeds and
 * seeds above 2^32 wrap like `>>> 0`.
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) throw new TypeError(`Expected seed to be an integer, got ${String(seed)}`);
  return mulberry32(seed);
}

/** 0 .. n-1 in a seeded random order (Fisher-Yates, so every order is equally likely). */
export function permutation(n: number, random: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * Examples `start` (inclusive) to `end` (exclusive, clamped to the count).
 * The result shares memory with `ds` (typed-array views, no copy): datasets
 * are treated as immutable, and copying 47 MB to take a slice is waste.
 */
export function slice(ds: Dataset, start: number, end: number = ds.count): Dataset {
  if (!Number.isSafeInteger(start) || start < 0) throw new TypeError(`Expected start to be an integer >= 0, got ${String(start)}`);
  if (!Number.isSafeInteger(end) || end < start) throw new TypeError(`Expected end to be an integer >= start (${start}), got ${String(end)}`);
  const from = Math.min(start, ds.count);
  const to = Math.min(end, ds.count);
  if (from === 0 && to === ds.count) return ds;
  const size = exampleSize(ds);
  return {
    name: `${ds.name}[${from}:${to}]`,
    x: ds.x.subarray(from * size, to * size),
    y: ds.y.subarray(from, to),
    count: to - from,
    shape: [...ds.shape],
    classes: ds.classes,
    ...labelMeta(ds),
    fingerprint: derivedFingerprint(ds, { slice: [from, to] }),
  };
}

/** The first `n` examples (all of them when `n >= count`); shares memory like `slice`. */
export function take(ds: Dataset, n: number): Dataset {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`Expected n to be an integer >= 0, got ${String(n)}`);
  return slice(ds, 0, n);
}

/** The examples at `indices`, in that order (a copy). */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): Dataset {
  const id = sha256Hex(new Uint8Array(Int32Array.from(indices).buffer));
  return gather(ds, indices, name, derivedFingerprint(ds, { subset: id }));
}

function gather(ds: Dataset, indices: ArrayLike<number>, name: string, fingerprint: string): Dataset {
  const size = exampleSize(ds);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) {
      throw new RangeError(`Expected indices in 0..${ds.count - 1}, got ${String(j)} at position ${i}`);
    }
    x.set(ds.x.subarray(j * size, (j + 1) * size), i * size);
    y[i] = ds.y[j]!;
  }
  return { name, x, y, count: indices.length, shape: [...ds.shape], classes: ds.classes, ...labelMeta(ds), fingerprint };
}

/** What a part of a dataset keeps from the whole besides examples: class names, unlabelled-ness, the vocabulary and text encoding. */
function labelMeta(ds: Dataset): Pick<Dataset, 'classNames' | 'labelled' | 'vocabulary' | 'textEncoding'> {
  return {
    ...(ds.classNames ? { classNames: [...ds.classNames] } : {}),
    ...(ds.labelled === false ? { labelled: false } : {}),
    // Shared, not copied: datasets are immutable, and a vocabulary can hold 10^5 strings.
    ...(ds.vocabulary ? { vocabulary: ds.vocabulary } : {}),
    ...(ds.textEncoding ? { textEncoding: ds.textEncoding } : {}),
  };
}

/**
 * Which of `count` examples go to the held-out part: `round(count * fraction)`
 * of them, chosen by a seeded shuffle. Each part keeps file order, so the
 * split depends only on (count, fraction, seed). Shared by `splitDataset` and
 * the csv loader's `split:` option so both split the same way.
 */
export function splitIndices(count: number, fraction: number, seed: number): { kept: Int32Array; held: Int32Array } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`Expected fraction in [0, 1), got ${String(fraction)}`);
  const order = permutation(count, seededRandom(seed));
  const heldCount = Math.round(count * fraction);
  const held = order.slice(0, heldCount).sort();
  const kept = order.slice(heldCount).sort();
  return { kept, held };
}

/**
 * Splits off `fraction` of the examples (seeded) as a held-out set:
 * returns `[rest, heldOut]`, e.g. `[fit, validation]`.
 */
export function splitDataset(ds: Dataset, fraction: number, seed: number): [Dataset, Dataset] {
  const { kept, held } = splitIndices(ds.count, fraction, seed);
  const tag = { split: { fraction, seed } };
  return [
    gather(ds, kept, `${ds.name}[rest]`, derivedFingerprint(ds, { ...tag, part: 'rest' })),
    gather(ds, held, `${ds.name}[held]`, derivedFingerprint(ds, { ...tag, part: 'held' })),
  ];
}

export interface BatchOptions {
  /** Visit examples in a random order (default false: file order, as evaluation wants). */
  shuffle?: boolean;
  /** Seed for the order when `shuffle` is set and no `random` is given (default 0). */
  seed?: number;
  /**
   * A PRNG to draw the order from instead of `seed`. Pass one PRNG across
   * epochs to get a different (but reproducible) order each epoch.
   */
  random?: () => number;
  /** Skip a last batch smaller than `batchSize` (default false). */
  dropRemainder?: boolean;
}

/**
 * Yields the example indices of each batch. Indices rather than data so the
 * caller decides what to build (tensors, a subset) and nothing is copied here;
 * each yielded array is a view into one order array and must not be kept
 * across iterations if mutated.
 */
export function* batches(ds: Pick<Dataset, 'count'>, batchSize: number, options: BatchOptions = {}): Generator<Int32Array, void, undefined> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new TypeError(`Expected batchSize to be an integer >= 1, got ${String(batchSize)}`);
  }
  let order: Int32Array;
  if (options.shuffle) {
    order = permutation(ds.count, options.random ?? seededRandom(options.seed ?? 0));
  } else {
    order = new Int32Array(ds.count);
    for (let i = 0; i < ds.count; i++) order[i] = i;
  }
  for (let start = 0; start < ds.count; start += batchSize) {
    const end = Math.min(start + batchSize, ds.count);
    if (options.dropRemainder && end - start < batchSize) return;
    yield order.subarray(start, end);
  }
}

/** A derived dataset's identity: its source's fingerprint plus how it was derived. */
function derivedFingerprint(ds: Dataset, how: Record<string, unknown>): string {
  return `sha256:${sha256Hex(canonicalJson({ from: ds.fingerprint, ...how }))}`;
}
