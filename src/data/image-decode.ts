/**
 * JPEG and PNG bytes to pixels, for the `images` loader.
 *
 * Decoders: jpeg-js and pngjs. Both are pure JavaScript, so they install
 * offline from the npm registry with no native build or platform binary
 * (sharp, the fast alternative, downloads libvips per platform at install
 * time, which fails on the offline CI machines recipes run on), and both are
 * long-lived, widely used packages. Decoding is not the bottleneck here: the
 * loader caches decoded images by content (image-cache.ts).
 *
 * The format is chosen by the file's first bytes, never its extension: a
 * `.jpg` that is really a PNG (common after a careless export) still loads,
 * and a file that is neither is reported as such.
 *
 * Channels: the result has exactly the channels asked for. Grey to RGB
 * repeats the grey value; RGB to grey is the ITU-R BT.601 luma
 * (0.299 R + 0.587 G + 0.114 B, what PIL's `convert('L')` computes, so a
 * model trained on PIL-prepared data sees the same values). Alpha is
 * dropped, not composited (PIL's `convert('RGB')` does the same).
 */
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';

export type ImageFormat = 'jpeg' | 'png';

/** Decoded pixels: `height * width * channels` bytes, row-major, channels interleaved (HWC). */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** The decoder refused the bytes; `message` is what it said. The loader turns this into a DataError naming the file. */
export class ImageDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** `jpeg` (FF D8 FF), `png` (the 8-byte PNG signature) or undefined. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  return undefined;
}

/**
 * Guards against decompression bombs: a 100-byte PNG can claim 60000x60000
 * pixels. 64 megapixels is far beyond any training image.
 */
export const MAX_IMAGE_MEGAPIXELS = 64;

/** Decodes a JPEG or PNG into `channels` channels. Throws ImageDecodeError for anything it cannot read. */
export function decodeImage(bytes: Uint8Array, channels: 1 | 3): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    const hex = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
    throw new ImageDecodeError(`not a JPEG or PNG file (first bytes 0x${hex || '(empty)'})`);
  }
  const raw = format === 'jpeg' ? decodeJpeg(bytes) : decodePng(bytes);
  if (raw.width === 0 || raw.height === 0) throw new ImageDecodeError(`${format.toUpperCase()} has no pixels (${raw.width}x${raw.height})`);
  return { width: raw.width, height: raw.height, channels, data: convertChannels(raw.data, raw.width * raw.height, raw.channels, channels) };
}

interface RawPixels {
  width: number;
  height: number;
  /** Interleaved channels per pixel in `data`: 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
  data: Uint8Array;
}

function decodeJpeg(bytes: Uint8Array): RawPixels {
  let out: { width: number; height: number; data: Uint8Array };
  try {
    // tolerantDecoding off: a truncated file must be an error, not an image
    // with grey bottom rows that quietly trains the model on garbage.
    // formatAsRGBA off: keep a grey JPEG at 1 channel instead of 4.
    out = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_IMAGE_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
  } catch (err) {
    throw new ImageDecodeError(`JPEG decoder: ${messageOf(err)}`, { cause: err });
  }
  const pixels = out.width * out.height;
  const channels = pixels > 0 ? out.data.length / pixels : 0;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ImageDecodeError(`JPEG decoder: unsupported layout (${out.data.length} bytes for ${out.width}x${out.height} pixels)`);
  }
  return { width: out.width, height: out.height, channels, data: out.data };
}

function decodePng(bytes: Uint8Array): RawPixels {
  // Check the claimed size from the IHDR chunk before pngjs allocates for it.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const mp = (view.getUint32(16) * view.getUint32(20)) / 1e6;
    if (mp > MAX_IMAGE_MEGAPIXELS) throw new ImageDecodeError(`PNG claims ${view.getUint32(16)}x${view.getUint32(20)} pixels, more than ${MAX_IMAGE_MEGAPIXELS} megapixels`);
  }
  let png: { width: number; height: number; data: Uint8Array };
  try {
    // pngjs always yields 8-bit RGBA: palette, grey, 16-bit and interlaced
    // images are expanded by the decoder.
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new ImageDecodeError(`PNG decoder: ${messageOf(err)}`, { cause: err });
  }
  return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

/** Interleaved `from`-channel pixels to `to` channels (see the module comment for the rules). */
export function convertChannels(data: Uint8Array, pixels: number, from: number, to: 1 | 3): Uint8Array {
  if (from === to) return data.slice(0, pixels * to);
  const out = new Uint8Array(pixels * to);
  for (let p = 0; p < pixels; p++) {
    const s = p * from;
    if (to === 1) {
      // from is 3 or 4 here (1 -> 1 returned above).
      out[p] = Math.round(0.299 * data[s]! + 0.587 * data[s + 1]! + 0.114 * data[s + 2]!);
    } else if (from === 1) {
      out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = data[s]!;
    } else {
      out[p * 3] = data[s]!;
      out[p * 3 + 1] = data[s + 1]!;
      out[p * 3 + 2] = data[s + 2]!;
    }
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
