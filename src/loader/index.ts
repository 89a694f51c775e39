/**
 * `modelpress/loader`: loads a modelpress packed model (docs/packed-format.md)
 * into TensorFlow.js, in Node and in browsers, without the rest of modelpress.
 * Depends on nothing at run time (tfjs-core types only).
 *
 *     import * as tf from '@tensorflow/tfjs';
 *     import { packedIOHandler } from 'modelpress/loader';
 *     const model = await tf.loadLayersModel(packedIOHandler('model.mpk'));
 */
import type { io } from '@tensorflow/tfjs-core';
import { unpack } from './unpack.js';

export { unpack, readPacked } from './unpack.js';
export type { PackedContents, PackedTensorRecord } from './unpack.js';
export { PackedFormatError } from './bytes.js';

/** Where the packed bytes come from: the bytes, a function returning them, or a URL to fetch. */
export type PackedSource = ArrayBuffer | Uint8Array | (() => Promise<ArrayBuffer | Uint8Array>) | string;

export interface PackedIOHandlerOptions {
  /** `fetch` to use for URL sources. Default: the global fetch. */
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  /** Extra fetch options (headers, credentials, ...). */
  requestInit?: RequestInit;
}

/** A tfjs IOHandler whose `load()` unpacks the packed model: `tf.loadLayersModel(packedIOHandler(src))`. */
export function packedIOHandler(source: PackedSource, options: PackedIOHandlerOptions = {}): io.IOHandler {
  return {
    load: async () => unpack(await readSource(source, options)),
  };
}

async function readSource(source: PackedSource, options: PackedIOHandlerOptions): Promise<ArrayBuffer | Uint8Array> {
  if (typeof source === 'string') {
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new Error('packedIOHandler: no fetch available to load ' + source);
    const res = await f(source, options.requestInit);
    if (!res.ok) throw new Error(`packedIOHandler: fetching ${source} failed: ${res.status} ${res.statusText}`);
    return res.arrayBuffer();
  }
  if (typeof source === 'function') return source();
  return source;
}
