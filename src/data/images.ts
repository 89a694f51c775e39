/**
 * `images`: the image files a user actually has, as a dataset.
 *
 *   data:
 *     train: { uses: images, path: ./photos/train, size: [224, 224], normalize: imagenet }
 *     test:  { uses: images, list: ./photos/test.csv, size: [224, 224], normalize: imagenet }
 *     unlabelled: { uses: images, path: ./field-photos, size: [224, 224] }
 *
 * Which files and labels: image-sources.ts (a folder per class, a CSV/JSON
 * list, or a plain folder of unlabelled images). Each image is decoded
 * (image-decode.ts: JPEG/PNG by magic bytes), converted to `channels`,
 * fitted to `size` (image-resize.ts), rounded to 8 bits and cached by
 * content (image-cache.ts),
 * then normalised and laid out (image-normalize.ts).
 *
 * Errors: an image the decoder refuses is a DataError (`bad-image`) naming
 * the file and what the decoder said. A folder with no images, an empty
 * class folder, or `classes` that do not match the folders are DataErrors
 * carrying `option`, which planning turns into a diagnostic located at that
 * option in the recipe, before any stage runs.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { resolveCacheDir } from '../cache/default-dir.js';
import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { datasetFingerprint } from './fingerprint.js';
import { processFileHashes } from './file-hash.js';
import type { ByteImage } from './image-cache.js';
import { ImageCache } from './image-cache.js';
import type { DecodedImage } from './image-decode.js';
import { decodeImage, ImageDecodeError } from './image-decode.js';
import type { ChannelOrder, ImageLayout, ImageNormalize } from './image-normalize.js';
import { channelAffine, writeExample } from './image-normalize.js';
import type { FloatImage, ResizeMode } from './image-resize.js';
import { fitImage } from './image-resize.js';
import type { ImageItem, LabelSource } from './image-sources.js';
import { listImages } from './image-sources.js';
import type { DatasetLoader, LoadContext } from './loader.js';
import { defineLoader, resolveLoaderOptions } from './loader.js';
import type { SourceFile } from './source.js';

/** `images` loader options as written in a recipe (defaults in the schema below). */
export interface ImagesOptions {
  /** A folder: one sub-folder per class, or just images (unlabelled). Exactly one of `path` and `list`. */
  path?: string;
  /** A CSV (`path,label`) or JSON list of images, paths relative to the list file. */
  list?: string;
  /** `[height, width]` of every example. */
  size: [number, number];
  /** Default `crop`. */
  resize?: ResizeMode;
  /** Default 3. */
  channels?: 1 | 3;
  /** Default `unit`. */
  normalize?: ImageNormalize;
  /** Default `rgb`. */
  channelOrder?: ChannelOrder;
  /** Default `nhwc`. */
  layout?: ImageLayout;
  /** Default `auto`. */
  labels?: LabelSource | 'auto';
  /** Class names in index order; default: sorted class names. */
  classes?: string[];
  /** At most this many images (default: all). */
  limit?: number;
  /** Default true: keep decoded images in the data cache. */
  cache?: boolean;
}

export const imagesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['size'],
  // At least one source (both is refused in prepare() with a clearer message
  // than oneOf's "must match exactly one schema"). The branches repeat the
  // property so ajv's strict mode sees every required key defined where it
  // is required.
  anyOf: [
    { required: ['path'], properties: { path: { type: 'string' } } },
    { required: ['list'], properties: { list: { type: 'string' } } },
  ],
  properties: {
    path: {
      type: 'string',
      minLength: 1,
      description: 'A folder of images, relative to the recipe: one sub-folder per class (class name = folder name), or images only (unlabelled). Give `path` or `list`, not both.',
    },
    list: {
      type: 'string',
      minLength: 1,
      description: 'A `.csv` (columns `path,label`, header optional) or `.json` (array of `{ "path", "label" }`) list of images; paths relative to the list file, labels class names or indices (optional: no labels = unlabelled).',
    },
    size: {
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 4096 },
      minItems: 2,
      maxItems: 2,
      description: '`[height, width]` of every example, e.g. `[224, 224]`: the model\'s input size.',
    },
    resize: {
      enum: ['crop', 'stretch', 'pad'],
      default: 'crop',
      description: 'How images are fitted to `size`. `crop`: scale the shorter side to fit, cut the centre. `stretch`: scale each side, aspect ratio lost. `pad`: scale the longer side to fit, centre, fill with black. Shrinking averages pixels; enlarging is bilinear.',
    },
    channels: { enum: [1, 3], default: 3, description: 'Channels per pixel: 3 (RGB; grey images repeated) or 1 (grey; colour images by BT.601 luma). Alpha is dropped.' },
    normalize: {
      default: 'unit',
      description: 'Pixel scaling. `unit`: [0, 1]. `symmetric`: [-1, 1]. `imagenet`: (v/255 - mean) / std with the ImageNet mean/std. `{ mean, std }`: the same with your numbers on the [0, 1] scale, one value or one per channel in RGB order.',
      oneOf: [
        { enum: ['unit', 'symmetric', 'imagenet'] },
        {
          type: 'object',
          additionalProperties: false,
          required: ['mean', 'std'],
          properties: {
            mean: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 3, description: 'Mean per channel (RGB order), on the [0, 1] scale.' },
            std: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1, maxItems: 3, description: 'Standard deviation per channel (RGB order), > 0.' },
          },
        },
      ],
    },
    channelOrder: { enum: ['rgb', 'bgr'], default: 'rgb', description: 'Channel order of the examples: `rgb`, or `bgr` for models trained on OpenCV/Caffe-style input. `normalize` mean/std are given in RGB order either way.' },
    layout: { enum: ['nhwc', 'nchw'], default: 'nhwc', description: 'Example layout: `nhwc` (shape [h, w, c], what tfjs models take) or `nchw` ([c, h, w], as ONNX/PyTorch models take).' },
    labels: {
      enum: ['auto', 'folders', 'list', 'none'],
      default: 'auto',
      description: 'Where labels come from. `auto`: class folders when `path` has sub-folders, the list\'s label column when it has one, else none. `none`: an unlabelled dataset (labels -1).',
    },
    classes: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      uniqueItems: true,
      description: 'Class names in index order (class i = classes[i]). Default: the class folder names (or the list\'s label names) sorted. With folders, must name exactly the class folders.',
    },
    limit: { type: 'integer', minimum: 1, description: 'At most this many images, taken in turn from each class (first images by sorted path), so a small limit still covers every class. Default: all.' },
    cache: { type: 'boolean', default: true, description: 'Keep decoded and resized images in the data cache (`<cache dir>/data/images`), so later loads do not decode again.' },
  },
} as const;

type ResolvedImages = Required<Omit<ImagesOptions, 'path' | 'list' | 'classes' | 'limit'>> & Pick<ImagesOptions, 'path' | 'list' | 'classes' | 'limit'>;

/** What the loader needs besides the filesystem; tests pass a counting decoder. */
export interface ImagesLoaderDeps {
  decode?: (bytes: Uint8Array, channels: 1 | 3) => DecodedImage;
}

/** The data cache's folder for images: `<cache dir>/data/images`, the cache dir as for `modelpress run` (MODELPRESS_CACHE_DIR, else the project's cache, found from the recipe's folder). */
export function imageCacheDir(ctx: LoadContext): string {
  return join(ctx.cacheDir ?? join(resolveCacheDir({ recipeDir: ctx.baseDir }), 'data'), 'images');
}

/** Builds the loader; `imagesLoader` below is the one modelpress registers. */
export function createImagesLoader(deps: ImagesLoaderDeps = {}): DatasetLoader<ImagesOptions> {
  const decode = deps.decode ?? decodeImage;

  async function prepare(options: ImagesOptions, ctx: LoadContext) {
    const o = resolveLoaderOptions<ResolvedImages>(loader, options);
    // Cross-field checks the schema cannot express, before any file is read:
    // a DataError carrying the option, so planning locates it in the recipe
    // (a TypeError there would be a crash with a stack trace).
    if (o.path !== undefined && o.list !== undefined) {
      throw new DataError('give `path` (a folder) or `list` (a list file), not both', { code: 'bad-option', file: o.list, option: 'list', hint: 'a list file names its images itself; remove `path`, or remove `list` to read the whole folder' });
    }
    try {
      channelAffine(o.normalize, o.channels);
    } catch (err) {
      throw new DataError((err as Error).message, { code: 'bad-option', file: o.path ?? o.list!, option: 'normalize', cause: err });
    }
    const listing = await listImages({ labels: o.labels, ...(o.path !== undefined ? { path: o.path } : {}), ...(o.list !== undefined ? { list: o.list } : {}), ...(o.classes ? { classes: o.classes } : {}) }, ctx.baseDir);
    const items = o.limit === undefined ? listing.items : balancedLimit(listing.items, o.limit);
    const files: Record<string, SourceFile> = {};
    for (const it of items) files[`image:${it.rel}`] = it.file;
    if (listing.listFile) files.list = listing.listFile;
    // Labels are part of the identity: folder names are in the roles, list
    // labels in the list file's hash, `classes` in the options.
    const { path: _p, list: _l, cache: _c, ...identity } = o;
    const fingerprint = await datasetFingerprint(loader, identity, files, ctx.hashes);
    return { o, listing, items, fingerprint };
  }

  const loader: DatasetLoader<ImagesOptions> = defineLoader<ImagesOptions>({
    name: 'images',
    version: '1',
    description: 'JPEG/PNG images: a folder per class, a CSV/JSON list, or an unlabelled folder; resized, normalised, cached decoded.',
    schema: imagesSchema,
    async load(options, ctx) {
      const { o, listing, items, fingerprint } = await prepare(options, ctx);
      const [height, width] = o.size;
      const c = o.channels;
      const size = height * width * c;
      const x = new Float32Array(items.length * size);
      const y = new Int32Array(items.length);
      const affine = channelAffine(o.normalize, c);
      const cache = o.cache ? new ImageCache(imageCacheDir(ctx)) : undefined;
      const hashes = ctx.hashes ?? processFileHashes;
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        // The hash is normally remembered from fingerprinting: no second read.
        const key = cache ? { sha256: (await hashes.hash(it.file)).sha256, height, width, channels: c, resize: o.resize } : undefined;
        let img = key ? await cache!.get(key) : undefined;
        if (!img) {
          img = toBytes(fitImage(toFloat(decodeItem(await readImage(it.file), it, c, decode)), height, width, o.resize));
          if (key) await cache!.put(key, img);
        }
        writeExample(img.data, height, width, c, affine, o.channelOrder, o.layout, x, i * size);
        y[i] = it.label;
      }
      const ds: Dataset = {
        name: ctx.name ?? `images:${basename(o.path ?? o.list!)}`,
        x,
        y,
        count: items.length,
        shape: o.layout === 'nhwc' ? [height, width, c] : [c, height, width],
        classes: listing.classes,
        ...(listing.classNames ? { classNames: [...listing.classNames] } : {}),
        ...(listing.labels === 'none' ? { labelled: false } : {}),
        fingerprint,
      };
      return ds;
    },
    async fingerprint(options, ctx) {
      return (await prepare(options, ctx)).fingerprint;
    },
  });
  return loader;
}

export const imagesLoader: DatasetLoader<ImagesOptions> = createImagesLoader();

/**
 * The first `limit` images taking one from each class in turn (each class
 * in sorted-path order), returned in sorted-path order. Plain "first N
 * paths" would take every image of the alphabetically first class.
 */
export function balancedLimit(items: ImageItem[], limit: number): ImageItem[] {
  if (limit >= items.length) return items;
  const byClass = new Map<number, ImageItem[]>();
  for (const it of items) {
    const list = byClass.get(it.label) ?? [];
    list.push(it);
    byClass.set(it.label, list);
  }
  const queues = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);
  const chosen = new Set<ImageItem>();
  for (let round = 0; chosen.size < limit; round++) {
    for (const q of queues) {
      if (chosen.size >= limit) break;
      if (round < q.length) chosen.add(q[round]!);
    }
  }
  return items.filter((it) => chosen.has(it));
}

async function readImage(file: SourceFile): Promise<Uint8Array> {
  try {
    const buf = await readFile(file.path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `no such file: ${file.path}` : `cannot read: ${(err as Error).message}`, {
      code: code === 'ENOENT' ? 'file-not-found' : 'file-unreadable',
      file: file.label,
      cause: err,
    });
  }
}

function decodeItem(bytes: Uint8Array, it: ImageItem, channels: 1 | 3, decode: NonNullable<ImagesLoaderDeps['decode']>): DecodedImage {
  try {
    return decode(bytes, channels);
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    throw new DataError(`cannot decode image: ${err.message}`, {
      code: 'bad-image',
      file: it.file.label,
      hint: 'open it in an image viewer: re-export it as JPEG or PNG, or remove it from the dataset',
      cause: err,
    });
  }
}

/** Rounds resized pixels to 8 bits, with or without the cache (see image-cache.ts for why 8 bits). */
function toBytes(img: FloatImage): ByteImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(255, Math.max(0, img.data[i]!)));
  return { height: img.height, width: img.width, channels: img.channels, data };
}

function toFloat(img: DecodedImage): FloatImage {
  return { width: img.width, height: img.height, channels: img.channels, data: Float32Array.from(img.data) };
}
