/**
 * The setup every training benchmark script under bench/ shares: the project
 * root, the command-line arguments with a `--name value` reader, and the
 * compiled modelpress modules (dist/, so `npm run build` first) a plain tfjs
 * training loop needs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

/**
 * node:util parseArgs over the script's `options`, for people: `--help`
 * prints the script's leading comment (its usage), and an unknown or
 * malformed option is one line naming it and `--help`, exit 2, not a stack
 * trace. `script` is the caller's import.meta.url.
 */
export function parseBenchArgs(options, script) {
  const path = fileURLToPath(script);
  if (process.argv.includes('--help')) {
    const head = readFileSync(path, 'utf8').split('\n');
    const end = head.findIndex((l) => !l.startsWith('//') && !l.startsWith('#!'));
    process.stdout.write(`${head.slice(0, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options });
  } catch (e) {
    process.stderr.write(`${path.slice(root.length + 1)}: ${e.message} (see --help)\n`);
    process.exit(2);
  }
}
