/**
 * Loading a modelpress packed model (`model.mpk`, docs/packed-format.md) in
 * Node: the file's bytes through `modelpress/loader`'s IOHandler into tfjs on
 * a backend of modelpress's choice. In a browser, use `modelpress/loader`
 * with your own tfjs instead.
 */
import { readFile } from 'node:fs/promises';
import type { LayersModel } from '@tensorflow/tfjs';
import { chooseBackend } from '../engine/backend.js';
import type { BackendName } from '../engine/backend.js';
import { loadTf } from '../engine/tf.js';
import { packedIOHandler } from '../loader/index.js';
import { expectBackend, expectObject } from './options.js';

export interface LoadPackedOptions {
  /** The tfjs backend to load the model on. Default: tfjs-node when installed, else wasm. */
  backend?: BackendName;
}

/** Loads `source` (a path to a packed file, or its bytes) as a tfjs LayersModel. */
export async function loadPacked(source: string | Uint8Array, options: LoadPackedOptions = {}): Promise<LayersModel> {
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
    throw new TypeError(`Expected \`source\` to be a file path or a Uint8Array, got ${source === null ? 'null' : typeof source}`);
  }
  expectObject('options', options);
  expectBackend(options.backend);
  const tf = await loadTf(chooseBackend(options.backend));
  const bytes = typeof source === 'string' ? new Uint8Array(await readFile(source)) : source;
  return tf.loadLayersModel(packedIOHandler(bytes));
}
