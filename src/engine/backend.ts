/**
 * Which tfjs backend stages will compute on. The name enters every cache
 * key: the same stage on another backend may produce other bytes.
 *
 * Preference: tfjs-node when installed (an optionalDependency that cannot
 * install without internet), else wasm. Detection only resolves the package;
 * loading a backend is the engine's job when a stage needs it.
 */
import { createRequire } from 'node:module';

export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tfjs-node', 'wasm', 'cpu'];

export function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** The backend to use: the forced one if given, else the best installed. */
export function chooseBackend(forced?: BackendName): BackendName {
  if (forced) return forced;
  if (isInstalled('@tensorflow/tfjs-node')) return 'tfjs-node';
  if (isInstalled('@tensorflow/tfjs-backend-wasm')) return 'wasm';
  return 'cpu';
}

/** Version of an installed package, or undefined. */
export function installedVersion(pkg: string): string | undefined {
  try {
    return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}
