/**
 * The setup every training benchmark script under bench/ shares: the project
 * root, the command-line arguments with a `--name value` reader, and the
 * compiled modelpress modules (dist/, so `npm run build` first) a plain tfjs
 * training loop needs.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The script's arguments (after `node script.mjs`). */
export const args = process.argv.slice(2);

/** The value after `name` in args, or `dflt` when `name` is absent. */
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};

/** A path under the compiled dist/. */
export const dist = (p) => join(root, 'dist', p);

/**
 * The compiled modules for training on MNIST with plain tfjs: loadTf,
 * registerWasmTrainingKernels, buildModel, mnistLoader, batches, seededRandom.
 */
export async function loadTraining() {
  const { loadTf } = await import(dist('engine/tf.js'));
  const { registerWasmTrainingKernels } = await import(dist('engine/kernels/index.js'));
  const { buildModel } = await import(dist('engine/builders.js'));
  const { mnistLoader } = await import(dist('data/mnist.js'));
  const { batches, seededRandom } = await import(dist('data/dataset.js'));
  return { loadTf, registerWasmTrainingKernels, buildModel, mnistLoader, batches, seededRandom };
}
