/**
 * Feature normalisation shared by the loaders, and the schema pieces that
 * document it once for all of them.
 *
 * - `none`: values as stored.
 * - `unit`: into [0, 1]. Integer data with a known range (uint8 pixels) is
 *   divided by that range, which does not depend on which records were
 *   loaded (so `limit:` never changes the scale); other data is min-max
 *   scaled per feature over the loaded records.
 * - `standard`: per feature, subtract the mean and divide by the (population)
 *   standard deviation of the loaded records. A constant feature becomes 0.
 *
 * Statistics come from the dataset itself (`stats: self`, the only choice for
 * now). A test set should really be scaled with the training set's
 * statistics, otherwise train and test see slightly different scales; until
 * `stats:` can name another dataset, prefer `unit` for uint8 data or
 * pre-normalised files when that matters.
 */

export type NormalizeMode = 'none' | 'unit' | 'standard';

/** Where `unit`/`standard` statistics come from. Only `self` exists for now. */
export type StatsSource = 'self';

/** Schema of the `normalize` option, with the loader's default. */
export function normalizeSchema(defaultMode: NormalizeMode) {
  return {
    enum: ['none', 'unit', 'standard'],
    default: defaultMode,
    description:
      'Feature scaling. `none`: as stored. `unit`: into [0, 1] (uint8 divided by 255; other data min-max per feature). `standard`: per-feature zero mean, unit variance.',
  } as const;
}

/** Schema of the `stats` option. */
export const statsSchema = {
  enum: ['self'],
  default: 'self',
  description:
    'Where `unit` (min-max) and `standard` statistics come from. Only `self` (this dataset\'s own records) for now; a test set would ideally use the training statistics.',
} as const;

/** The value range of an integer storage type, used by `unit` so the scale is fixed. */
export interface FixedRange {
  min: number;
  max: number;
}

/** `value * scale + shift`, applied while decoding. */
export interface Affine {
  scale: number;
  shift: number;
}

/**
 * How to carry out `mode`: a fixed affine map that the decoder applies in the
 * same pass that converts bytes to float32 (one pass over 188 MB of MNIST
 * floats instead of two: a measurable share of a full load), and/or a
 * per-feature pass afterwards (`normalizeInPlace`).
 */
export function planNormalization(mode: NormalizeMode, range?: FixedRange): { affine?: Affine; perFeature: NormalizeMode } {
  if (mode === 'unit' && range) {
    const scale = 1 / (range.max - range.min);
    return { affine: { scale, shift: -range.min * scale }, perFeature: 'none' };
  }
  return { perFeature: mode };
}

/**
 * Applies `mode` in place to `x` (records of `featureSize` values), from the
 * loaded records' own statistics. For data with a fixed range use
 * `planNormalization` first: its `perFeature` is what is left to do here.
 */
export function normalizeInPlace(x: Float32Array, featureSize: number, mode: NormalizeMode): void {
  if (mode === 'none' || x.length === 0) return;
  if (mode === 'unit') minMaxPerFeature(x, featureSize);
  else standardizePerFeature(x, featureSize);
}

/** Per-feature (x - min) / (max - min); a constant feature becomes 0. */
export function minMaxPerFeature(x: Float32Array, featureSize: number): void {
  const records = x.length / featureSize;
  const min = new Float64Array(featureSize).fill(Infinity);
  const max = new Float64Array(featureSize).fill(-Infinity);
  // Record-major loops: x is stored record after record, so this walks memory in order.
  for (let r = 0, o = 0; r < records; r++, o += featureSize) {
    for (let f = 0; f < featureSize; f++) {
      const v = x[o + f]!;
      if (v < min[f]!) min[f] = v;
      if (v > max[f]!) max[f] = v;
    }
  }
  const scale = new Float64Array(featureSize);
  for (let f = 0; f < featureSize; f++) {
    const span = max[f]! - min[f]!;
    scale[f] = span > 0 ? 1 / span : 0;
  }
  for (let r = 0, o = 0; r < records; r++, o += featureSize) {
    for (let f = 0; f < featureSize; f++) x[o + f] = (x[o + f]! - min[f]!) * scale[f]!;
  }
}

/** Per-feature (x - mean) / std (population std, two passes for accuracy); std 0 -> 0. */
export function standardizePerFeature(x: Float32Array, featureSize: number): void {
  const records = x.length / featureSize;
  const mean = new Float64Array(featureSize);
  for (let r = 0, o = 0; r < records; r++, o += featureSize) {
    for (let f = 0; f < featureSize; f++) mean[f]! += x[o + f]!;
  }
  for (let f = 0; f < featureSize; f++) mean[f]! /= records;
  const sq = new Float64Array(featureSize);
  for (let r = 0, o = 0; r < records; r++, o += featureSize) {
    for (let f = 0; f < featureSize; f++) {
      const d = x[o + f]! - mean[f]!;
      sq[f]! += d * d;
    }
  }
  const inv = new Float64Array(featureSize);
  for (let f = 0; f < featureSize; f++) {
    const std = Math.sqrt(sq[f]! / records);
    inv[f] = std > 0 ? 1 / std : 0;
  }
  for (let r = 0, o = 0; r < records; r++, o += featureSize) {
    for (let f = 0; f < featureSize; f++) x[o + f] = (x[o + f]! - mean[f]!) * inv[f]!;
  }
}
