/**
 * Loads TensorFlow.js and switches it to the requested backend.
 *
 * Every engine module receives `tf` from here (or as a parameter) instead of
 * importing '@tensorflow/tfjs' at the top level: `modelpress validate` imports
 * every stage plugin just to read its schema, and loading tfjs would add a few
 * hundred milliseconds to that.
 *
 * Backends (see src/engine/backend.ts for how one is chosen):
 * - `wasm`: '@tensorflow/tfjs-backend-wasm'. In Node its `main` is the package's
 *   `dist/tf-backend-wasm.node.js`, which finds the .wasm binaries next to
 *   itself, so no `setWasmPaths` is needed.
 * - `cpu`: the plain JavaScript backend bundled in '@tensorflow/tfjs'.
 * - `tfjs-node`: '@tensorflow/tfjs-node' (native libtensorflow; an
 *   optionalDependency that fails to install offline). Registers itself as the
 *   tfjs backend named `tensorflow`.
 */
import type { BackendName } from './backend.js';

/** The '@tensorflow/tfjs' module namespace. */
export type Tf = typeof import('@tensorflow/tfjs');

export interface LoadTfOptions {
  /**
   * Runs after the backend package is imported and registered, before
   * `tf.setBackend()` initialises it. Kernels registered here for the backend
   * get their `setupFunc` called during that initialisation, which is what
   * wasm kernels need: the place for `registerWasmTrainingKernels()`
   * (src/engine/kernels/) once it exists.
   *
   * Runs on every `loadTf` call, so it must be idempotent (skip kernels that
   * `tf.getKernel(name, backend)` already finds; tfjs warns on re-registration).
   */
  beforeReady?: (tf: Tf) => void | Promise<void>;
}

/** The tfjs backend name each modelpress backend runs as. */
const TF_BACKEND_NAME: Readonly<Record<BackendName, string>> = {
  wasm: 'wasm',
  cpu: 'cpu',
  'tfjs-node': 'tensorflow',
};

let tfPromise: Promise<Tf> | undefined;
let active: string | undefined;

/**
 * Imports '@tensorflow/tfjs' (once per process), loads `backend`, runs
 * `beforeReady`, activates the backend and returns tf.
 *
 * @throws Error `tfjs-node is not installed` when `backend` is 'tfjs-node' and
 *   the package cannot be resolved; an Error naming the backend when it fails
 *   to initialise.
 */
export async function loadTf(backend: BackendName, options: LoadTfOptions = {}): Promise<Tf> {
  if (!Object.hasOwn(TF_BACKEND_NAME, backend)) {
    throw new TypeError(`Expected backend to be one of wasm, cpu, tfjs-node, got ${JSON.stringify(backend)}`);
  }
  tfPromise ??= import('@tensorflow/tfjs');
  const tf = await tfPromise;
  if (backend === 'wasm') {
    // Registers the `wasm` backend factory as a side effect of importing.
    await import('@tensorflow/tfjs-backend-wasm');
  } else if (backend === 'tfjs-node') {
    await importTfjsNode();
  }
  await options.beforeReady?.(tf);

  const name = TF_BACKEND_NAME[backend];
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new Error(`tfjs backend "${name}" failed to initialise: ${messageOf(error)}`, { cause: error });
  }
  if (!ok) throw new Error(`tfjs backend "${name}" failed to initialise`);
  await tf.ready();
  if (name === 'cpu') quietCpuBanner(tf);
  active = tf.getBackend();
  return tf;
}

/** The tfjs backend active after the last `loadTf` (e.g. 'wasm', 'cpu', 'tensorflow'), or undefined before. */
export function activeBackend(): string | undefined {
  return active;
}

async function importTfjsNode(): Promise<void> {
  // A variable specifier keeps TypeScript from resolving a package that is
  // usually absent (and would otherwise be a compile error).
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(specifier);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && messageOf(error).includes(specifier)) {
      throw new Error(
        'tfjs-node is not installed (npm install @tensorflow/tfjs-node; it downloads libtensorflow, ' +
          'so it needs internet at install time). Use the wasm or cpu backend instead.',
        { cause: error },
      );
    }
    throw new Error(`tfjs-node is installed but failed to load: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in
 * Node.js. To speed things up dramatically, install our node backend ..." to
 * stderr on the first tensor it stores while IS_NODE is true. It goes through
 * tfjs's warn(), which is silent while PROD is set: so set PROD only around
 * that first write, then restore it. Other tfjs warnings stay visible, and
 * IS_NODE keeps telling the truth (it also decides how tfjs loads files).
 * Only the cpu backend prints it; wasm and tfjs-node never do.
 */
function quietCpuBanner(tf: Tf): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    env.set('PROD', prod);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
