/**
 * The tfjs versions that compute a stage's bytes, as they enter cache keys.
 * A tfjs upgrade can change kernels (and so weights) without any change to
 * our code; like wireit's fingerprint holding the tool versions, the key
 * holds the versions of @tensorflow/tfjs-core and of the backend package.
 *
 * Versions are read from the installed package.json files, found the way
 * Node resolves them: `@tensorflow/tfjs` from the modelpress package, and
 * tfjs-core and tfjs-backend-cpu from `@tensorflow/tfjs` (it imports them,
 * and npm may nest them under it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';

/** What a key records of tfjs: `{ core: '4.22.0', backend: '@tensorflow/tfjs-backend-wasm@4.22.0' }`. */
export interface TfjsVersions {
  core: string;
  /** `<package>@<version>` of the backend package, or `<package>@not-installed`. */
  backend: string;
}

/** The npm package that implements each modelpress backend (see src/engine/tf.ts). */
export const BACKEND_PACKAGES: Readonly<Record<string, string>> = {
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  'tfjs-node': '@tensorflow/tfjs-node',
};

const cache = new Map<string, TfjsVersions>();

/**
 * The versions for `backend`, read once per process.
 *
 * @throws TypeError `Expected backend to be one of wasm, cpu, tfjs-node, got "x"`.
 */
export function tfjsVersions(backend: string, fromDir: string = PACKAGE_ROOT): TfjsVersions {
  if (!Object.hasOwn(BACKEND_PACKAGES, backend)) {
    throw new TypeError(`Expected backend to be one of ${Object.keys(BACKEND_PACKAGES).join(', ')}, got ${JSON.stringify(backend)}`);
  }
  const pkg = BACKEND_PACKAGES[backend]!;
  const memoKey = `${fromDir}\0${backend}`;
  const hit = cache.get(memoKey);
  if (hit) return hit;
  const tfjsDir = packageDir('@tensorflow/tfjs', fromDir);
  const viaTfjs = tfjsDir ?? fromDir;
  const core = version('@tensorflow/tfjs-core', viaTfjs) ?? 'not-installed';
  const backendVersion = version(pkg, backend === 'cpu' ? viaTfjs : fromDir) ?? 'not-installed';
  const out = { core, backend: `${pkg}@${backendVersion}` };
  cache.set(memoKey, out);
  return out;
}

/** Node's lookup: `<dir>/node_modules/<name>` from `fromDir` up to the filesystem root. */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function version(name: string, fromDir: string): string | undefined {
  const dir = packageDir(name, fromDir);
  if (!dir) return undefined;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
}
