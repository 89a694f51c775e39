/**
 * `npy`: features and labels saved by numpy (`np.save('x.npy', x)`).
 *
 * Format (numpy.lib.format): `\x93NUMPY`, a version (1.0: 2-byte header
 * length; 2.0/3.0: 4-byte), then a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }`
 * padded so the data starts aligned, then the raw C-order values.
 *
 * Supported, deliberately few: features float32 / float64 / uint8 / int32 /
 * int64, labels int32 / int64 / uint8, little-endian, C order. Anything else
 * is a DataError that says how to convert it in numpy, rather than a guess.
 *
 * Sequences need nothing special: a float array of shape (N, time, features)
 * gives examples of shape [time, features]; an integer array (N, time) of
 * token ids gives [time], ready for an Embedding layer (id 0 is padding by
 * convention: Embedding's `maskZero` skips it). Every dataset holds float32,
 * which is exact for integers up to 2^24, so a larger id is refused rather
 * than rounded to a neighbouring token.
 */
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { DataError } from './errors.js';
import { datasetFingerprint } from './fingerprint.js';
import { checkLabels, maxLabel } from './labels.js';
import type { DatasetLoader, LoadContext } from './loader.js';
import { defineLoader, resolveLoaderOptions } from './loader.js';
import type { Affine, FixedRange, NormalizeMode, StatsSource } from './normalize.js';
import { normalizeInPlace, normalizeSchema, planNormalization, statsSchema } from './normalize.js';
import type { SourceFile } from './source.js';
import { openSource, readAt, sourceFile, statSource } from './source.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyHeader {
  /** numpy dtype string, e.g. `<f4`. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the first value. */
  dataOffset: number;
}

interface NpyType {
  bytes: number;
  /** Integer storage range for `normalize: unit`. */
  range?: FixedRange;
}

/** What each role accepts. `|u1` and `<u1` are the same single byte; numpy writes `|u1`. */
const FEATURE_TYPES: Record<string, NpyType> = {
  '<f4': { bytes: 4 },
  '<f8': { bytes: 8 },
  '|u1': { bytes: 1, range: { min: 0, max: 255 } },
  '<u1': { bytes: 1, range: { min: 0, max: 255 } },
  // Token ids (and counts): no fixed range, `normalize: none` (the default) keeps them ids.
  '<i4': { bytes: 4 },
  '<i8': { bytes: 8 },
};
const LABEL_TYPES: Record<string, NpyType> = {
  '<i4': { bytes: 4 },
  '<i8': { bytes: 8 },
  '|u1': { bytes: 1 },
  '<u1': { bytes: 1 },
};

/** Typed-array views read the host's byte order; NPY here is little-endian. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads and checks the magic number, header dict and file length. */
export async function readNpyHeader(fh: FileHandle, src: SourceFile, fileBytes: number): Promise<NpyHeader> {
  if (fileBytes < 10) throw new DataError(`truncated: expected at least 10 bytes, found ${fileBytes}`, { code: 'truncated', file: src.label });
  const pre = await readAt(fh, src, 0, Math.min(12, fileBytes));
  if (MAGIC.some((b, i) => pre[i] !== b)) {
    const hex = [...pre.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
    throw new DataError(`wrong magic number 0x${hex}: not an NPY file (expected \\x93NUMPY)`, { code: 'bad-magic', file: src.label });
  }
  const major = pre[6]!;
  const view = new DataView(pre.buffer);
  let start: number;
  let length: number;
  if (major === 1) {
    start = 10;
    length = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (fileBytes < 12) throw new DataError(`truncated: expected at least 12 bytes, found ${fileBytes}`, { code: 'truncated', file: src.label });
    start = 12;
    length = view.getUint32(8, true);
  } else {
    throw new DataError(`unsupported NPY format version ${major}.${pre[7]!}`, { code: 'bad-header', file: src.label, hint: 'save with numpy >= 1.0 defaults (format 1.0)' });
  }
  const dataOffset = start + length;
  if (fileBytes < dataOffset) {
    throw new DataError(`truncated: expected at least ${dataOffset} bytes, found ${fileBytes}`, { code: 'truncated', file: src.label });
  }
  const bytes = await readAt(fh, src, start, length);
  // Versions 1 and 2 store the dict as latin1, version 3 as utf8.
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes);
  return { ...parseHeaderDict(text, src), dataOffset };
}

/**
 * Reads the three keys out of the dict literal. Regexes rather than a Python
 * parser: numpy writes these three keys and nothing else, always with
 * these value forms.
 */
function parseHeaderDict(text: string, src: SourceFile): Omit<NpyHeader, 'dataOffset'> {
  if (/['"]descr['"]\s*:\s*\[/.test(text)) {
    throw new DataError('unsupported dtype: a structured (record) array', {
      code: 'unsupported-dtype',
      file: src.label,
      hint: 'save plain arrays, one for features and one for labels',
    });
  }
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  const shape = shapeText
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : Number.NaN));
  if (descr === undefined || fortran === undefined || !shape || shape.some((d) => Number.isNaN(d))) {
    throw new DataError(`cannot parse the header: ${text.trim().slice(0, 120)}`, { code: 'bad-header', file: src.label });
  }
  return { descr, fortranOrder: fortran === 'True', shape };
}

/** Checks layout and dtype for a role, and that the file holds exactly `shape` values. */
function checkArray(h: NpyHeader, src: SourceFile, fileBytes: number, types: Record<string, NpyType>, role: string): NpyType {
  if (h.fortranOrder) {
    throw new DataError('fortran_order is True: only C order is supported', {
      code: 'fortran-order',
      file: src.label,
      hint: 'save np.ascontiguousarray(a) instead',
    });
  }
  const type = types[h.descr];
  if (!type) {
    const allowed = Object.keys(types).filter((d) => !d.startsWith('<u1')).map((d) => `'${d}'`).join(', ');
    throw new DataError(`unsupported dtype '${h.descr}' for ${role} (supported: ${allowed})`, {
      code: 'unsupported-dtype',
      file: src.label,
      hint: `convert in numpy, e.g. a.astype('${Object.keys(types)[0]!}')`,
    });
  }
  if (h.shape.length === 0) {
    throw new DataError(`expected shape (N, ...), found a scalar ()`, { code: 'bad-header', file: src.label });
  }
  const expected = h.dataOffset + h.shape.reduce((a, b) => a * b, 1) * type.bytes;
  if (fileBytes < expected) {
    throw new DataError(`truncated: expected ${expected} bytes, found ${fileBytes}`, {
      code: 'truncated',
      file: src.label,
      hint: `the header announces shape (${h.shape.join(', ')}) of ${h.descr}`,
    });
  }
  if (fileBytes > expected) {
    throw new DataError(`expected ${expected} bytes, found ${fileBytes}: data after the last record`, { code: 'bad-header', file: src.label });
  }
  return type;
}

/** Largest integer magnitude float32 holds exactly: ids above it would silently become their neighbours. */
export const FLOAT32_EXACT_INT = 2 ** 24;

/**
 * int32 / int64 features (token ids) as float32. `recordValues` and
 * `firstRecord` only name the record of a value float32 cannot hold exactly.
 */
function decodeIntFeatures(raw: Uint8Array, descr: '<i4' | '<i8', values: number, src: SourceFile, firstRecord: number, recordValues: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(values);
  for (let i = 0; i < values; i++) {
    const v = descr === '<i4' ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true));
    if (Math.abs(v) > FLOAT32_EXACT_INT) {
      throw new DataError(`value ${v} is too large to keep exactly: datasets hold float32, exact for integers up to 2^24 (16777216)`, {
        code: 'value-out-of-range',
        file: src.label,
        record: firstRecord + Math.floor(i / recordValues),
        hint: 'token ids index an embedding table: renumber them 0..vocabulary-1 (0 for padding)',
      });
    }
    out[i] = v;
  }
  return out;
}

function decodeFeatures(raw: Uint8Array, descr: string, values: number, affine?: Affine): Float32Array {
  if (descr === '|u1' || descr === '<u1') {
    const { scale, shift } = affine ?? { scale: 1, shift: 0 };
    const out = new Float32Array(values);
    for (let i = 0; i < values; i++) out[i] = raw[i]! * scale + shift;
    return out;
  }
  // Only integer storage has a fixed range, so floats never carry an affine map.
  // readAt returns a fresh buffer at offset 0, so a view is aligned and needs no copy.
  if (descr === '<f4' && LITTLE_ENDIAN_HOST) return new Float32Array(raw.buffer, 0, values);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(values);
  if (descr === '<f4') for (let i = 0; i < values; i++) out[i] = view.getFloat32(4 * i, true);
  else for (let i = 0; i < values; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

function decodeLabels(raw: Uint8Array, descr: string, n: number): Float64Array {
  const out = new Float64Array(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (descr === '<i4') for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
  // int64 (numpy's default integer): Number() keeps every valid label exact; huge values fail the range check.
  else if (descr === '<i8') for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true));
  else for (let i = 0; i < n; i++) out[i] = raw[i]!;
  return out;
}

/** `npy` loader options as written in a recipe. */
export interface NpyOptions {
  /** Features: .npy of float32, float64, uint8 or int32/int64 (token ids), shape (N, ...). */
  x: string;
  /** Labels: .npy of int32, int64 or uint8, shape (N,) or (N, 1). */
  y: string;
  limit?: number;
  offset?: number;
  /** Default `none`. */
  normalize?: NormalizeMode;
  stats?: StatsSource;
  classes?: number;
}

export const npySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['x', 'y'],
  properties: {
    x: {
      type: 'string',
      minLength: 1,
      description:
        'Features: a .npy file (float32, float64, uint8, or int32/int64 token ids; little-endian, C order) of shape (N, ...), relative to the recipe. Sequences: (N, time, features) floats, or (N, time) integer token ids with 0 as padding.',
    },
    y: { type: 'string', minLength: 1, description: 'Labels: a .npy file of integers (int32, int64 or uint8) of shape (N,) or (N, 1), relative to the recipe.' },
    limit: { type: 'integer', minimum: 1, description: 'Read at most this many records, starting at `offset`. Default: all of them.' },
    offset: { type: 'integer', minimum: 0, default: 0, description: 'Index of the first record to read.' },
    normalize: normalizeSchema('none'),
    stats: statsSchema,
    classes: {
      type: 'integer',
      minimum: 1,
      description: 'Number of classes; a label >= classes is an error. Default: the largest loaded label + 1.',
    },
  },
} as const;

type ResolvedNpy = Required<Omit<NpyOptions, 'limit' | 'classes'>> & Pick<NpyOptions, 'limit' | 'classes'>;

export const npyLoader: DatasetLoader<NpyOptions> = defineLoader<NpyOptions>({
  name: 'npy',
  // Still 1: int features were refused before, so no existing dataset's output changed.
  version: '1',
  description: 'Features and labels saved with numpy.save (.npy): arrays, images, sequences, token ids.',
  schema: npySchema,
  fileOptions: ['x', 'y'],
  async load(options, ctx) {
    const { o, xs, ys, fingerprint } = await prepare(options, ctx);
    return withNpyPair(xs, ys, o, async ({ fx, fy, hx, hy, xType, n }) => {
      const recordValues = hx.shape.slice(1).reduce((a, b) => a * b, 1);
      const yBytes = LABEL_TYPES[hy.descr]!.bytes;
      const [rawX, rawY] = await Promise.all([
        readAt(fx, xs, hx.dataOffset + o.offset * recordValues * xType.bytes, n * recordValues * xType.bytes),
        readAt(fy, ys, hy.dataOffset + o.offset * yBytes, n * yBytes),
      ]);
      const plan = planNormalization(o.normalize, xType.range);
      const x =
        hx.descr === '<i4' || hx.descr === '<i8'
          ? decodeIntFeatures(rawX, hx.descr, n * recordValues, xs, o.offset, recordValues)
          : decodeFeatures(rawX, hx.descr, n * recordValues, plan.affine);
      const y = checkLabels(decodeLabels(rawY, hy.descr, n), ys, o.offset, o.classes);
      normalizeInPlace(x, recordValues, plan.perFeature);
      return {
        name: ctx.name ?? `npy:${basename(o.x)}`,
        x,
        y,
        count: n,
        shape: exampleShape(hx),
        classes: o.classes ?? maxLabel(y) + 1,
        fingerprint,
      };
    });
  },
  async fingerprint(options, ctx) {
    return (await prepare(options, ctx)).fingerprint;
  },
  // Headers and labels only: the features are not read.
  async describe(options, ctx) {
    const { o, ys, xs } = await prepare(options, ctx);
    return withNpyPair(xs, ys, o, async ({ fy, hx, hy, n }) => {
      const yBytes = LABEL_TYPES[hy.descr]!.bytes;
      const rawY = await readAt(fy, ys, hy.dataOffset + o.offset * yBytes, n * yBytes);
      const y = checkLabels(decodeLabels(rawY, hy.descr, n), ys, o.offset, o.classes);
      return { shape: exampleShape(hx), dtype: 'float32', classes: o.classes ?? maxLabel(y) + 1, labelled: true, examples: n };
    });
  },
});

function exampleShape(hx: NpyHeader): number[] {
  return hx.shape.length === 1 ? [1] : hx.shape.slice(1);
}

interface OpenPair {
  fx: FileHandle;
  fy: FileHandle;
  hx: NpyHeader;
  hy: NpyHeader;
  xType: NpyType;
  /** Records to read from `offset`. */
  n: number;
}

/** Opens both files, checks their headers against each other and the options, and runs `use`. */
async function withNpyPair<T>(xs: SourceFile, ys: SourceFile, o: ResolvedNpy, use: (p: OpenPair) => Promise<T>): Promise<T> {
  const [xStat, yStat] = await Promise.all([statSource(xs), statSource(ys)]);
  const fx = await openSource(xs);
  try {
    const fy = await openSource(ys);
    try {
      const hx = await readNpyHeader(fx, xs, xStat.size);
      const xType = checkArray(hx, xs, xStat.size, FEATURE_TYPES, 'features');
      const hy = await readNpyHeader(fy, ys, yStat.size);
      checkArray(hy, ys, yStat.size, LABEL_TYPES, 'labels');
      const count = hx.shape[0]!;
      if (hy.shape.length > 2 || (hy.shape.length === 2 && hy.shape[1] !== 1)) {
        throw new DataError(`expected labels of shape (N,) or (N, 1), found (${hy.shape.join(', ')})`, { code: 'bad-header', file: ys.label });
      }
      if (hy.shape[0] !== count) {
        throw new DataError(`has ${hy.shape[0]!} labels but ${xs.label} has ${count} records`, { code: 'mismatch', file: ys.label });
      }
      if (count === 0) throw new DataError('no records', { code: 'empty', file: xs.label });
      if (o.offset >= count) {
        throw new DataError(`offset ${o.offset} is past the last record (the file has ${count})`, { code: 'bad-option', file: xs.label });
      }
      const n = Math.min(o.limit ?? Infinity, count - o.offset);
      return await use({ fx, fy, hx, hy, xType, n });
    } finally {
      await fy.close();
    }
  } finally {
    await fx.close();
  }
}

async function prepare(options: NpyOptions, ctx: LoadContext) {
  const o = resolveLoaderOptions<ResolvedNpy>(npyLoader, options);
  const xs = sourceFile(o.x, ctx.baseDir);
  const ys = sourceFile(o.y, ctx.baseDir);
  const { x: _x, y: _y, ...identity } = o;
  const fingerprint = await datasetFingerprint(npyLoader, identity, { x: xs, y: ys }, ctx.hashes);
  return { o, xs, ys, fingerprint };
}
