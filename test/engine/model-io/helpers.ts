import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from '../../../src/engine/tf.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/models');

/** Returns a factory of temp dirs that are removed after each test of the calling file. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modelpress-model-io-'));
    dirs.push(dir);
    return dir;
  };
}

/** Copies fixture `name` into a fresh temp dir and returns the copy's path. */
export async function copyFixture(tempDir: () => Promise<string>, name: string): Promise<string> {
  const dir = path.join(await tempDir(), name);
  await cp(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** file name -> bytes, for every file in `dir`. */
export async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(path.join(dir, name));
  return out;
}

/**
 * Weight name -> raw bytes of its values. Keyed by `originalName`, the name
 * saved in the manifest: `name` gets a process-wide suffix (`dense/kernel_3`)
 * when a layer name is loaded twice.
 */
export function weightBytes(model: LayersModel): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array;
    out[w.originalName] = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  }
  return out;
}

/** Weight name -> sha256 of its bytes: bit-exact comparisons that stay fast (and readable) for big models. */
export function weightDigests(model: LayersModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(weightBytes(model))) {
    out[name] = `${bytes.byteLength}:${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return out;
}

/** File name -> `size:sha256` of every file in `dir`. */
export async function treeDigests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(await readTree(dir))) {
    out[name] = `${bytes.byteLength}:${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return out;
}

export function weightValues(model: LayersModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const w of model.weights) out[w.originalName] = Array.from(w.read().dataSync());
  return out;
}

/**
 * Loads `dir` with tfjs's own stock loader (`tf.loadLayersModel` over its
 * HTTP IOHandler), serving files from disk through `fetchFunc`: proof that
 * the directory is a standard tfjs model, independent of our reader.
 *
 * The response is a minimal stand-in rather than a real `Response`: under
 * Jest, tfjs runs in the test's vm context while a real Response would build
 * its JSON arrays in Node's main realm, and tfjs-layers tells arrays apart
 * with `instanceof Array`.
 */
export async function loadWithStockLoader(tf: Tf, dir: string): Promise<LayersModel> {
  const base = 'http://model.test/';
  const fetchFunc = async (input: unknown) => {
    const file = path.join(dir, String(input).slice(base.length));
    const bytes = new Uint8Array(await readFile(file));
    return {
      ok: true,
      status: 200,
      url: String(input),
      json: async () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
      arrayBuffer: async () => bytes.buffer,
    };
  };
  return tf.loadLayersModel(`${base}model.json`, { fetchFunc: fetchFunc as unknown as typeof fetch });
}
