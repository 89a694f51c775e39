/**
 * Decoded and resized images, cached on disk by content, so a second epoch,
 * a second stage or a rerun reads floats instead of decoding JPEGs again
 * (decoding dominates loading: jpeg-js is pure JavaScript).
 *
 * Key: the sha256 of the image file's bytes plus what shapes the stored
 * floats (target size, channels, resize mode) and IMAGE_PIPELINE_VERSION.
 * Normalisation, channel order and layout are applied after the cache
 * (cheap, and changing them then needs no decode). The key says nothing
 * about the file's path: a renamed or copied image is still a hit.
 *
 * Layout: `<dir>/v<version>/<sha[0..2]>/<sha>-<h>x<w>x<c>-<mode>.f32`, the
 * HWC float32 values little-endian, nothing else; the length is the check
 * (a short or foreign file is a miss, then overwritten). Writes go to a
 * temp file renamed into place, so concurrent workers never read half an
 * entry. Every failure to read or write the cache is a miss, never an error:
 * the cache only saves time.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FloatImage, ResizeMode } from './image-resize.js';

/** Bump when decoding or resizing changes the stored floats for the same file and options. */
export const IMAGE_PIPELINE_VERSION = 1;

export interface ImageCacheKey {
  /** Hex sha256 of the image file. */
  sha256: string;
  height: number;
  width: number;
  channels: number;
  resize: ResizeMode;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ImageCache {
  /** `dir` is created on the first write. */
  constructor(readonly dir: string) {}

  /** The entry's file (exported for tests and `cache` tooling). */
  pathOf(key: ImageCacheKey): string {
    return join(this.dir, `v${IMAGE_PIPELINE_VERSION}`, key.sha256.slice(0, 2), `${key.sha256}-${key.height}x${key.width}x${key.channels}-${key.resize}.f32`);
  }

  /** The cached image, or undefined on a miss (absent, wrong length, unreadable). */
  async get(key: ImageCacheKey): Promise<FloatImage | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(key));
    } catch {
      return undefined;
    }
    const values = key.height * key.width * key.channels;
    if (bytes.length !== values * 4) return undefined;
    const data = new Float32Array(values);
    if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer).set(bytes);
    else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < values; i++) data[i] = view.getFloat32(i * 4, true);
    }
    return { height: key.height, width: key.width, channels: key.channels, data };
  }

  /** Stores `img` under `key`; failures (read-only disk, full disk) are ignored: the next load decodes again. */
  async put(key: ImageCacheKey, img: FloatImage): Promise<void> {
    const target = this.pathOf(key);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(join(target, '..'), { recursive: true });
      let bytes: Uint8Array;
      if (LITTLE_ENDIAN_HOST) bytes = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
      else {
        bytes = new Uint8Array(img.data.length * 4);
        const view = new DataView(bytes.buffer);
        img.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
      }
      await writeFile(tmp, bytes);
      await rename(tmp, target);
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
