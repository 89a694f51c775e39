/**
 * A browser measurement session: one headless Chromium (launchChromium) and
 * one 127.0.0.1 static server for the whole evaluate node, pages opened on
 * demand (one per backend + threads, reused by every candidate), models
 * served under /models/<n>/ while they are measured.
 *
 * The server's routes are a whitelist: the page, stock tfjs from
 * node_modules (tf.min.js, tf-backend-wasm.min.js and its three .wasm
 * binaries), the modelpress/loader bundle from dist/browser/, and the files
 * of each served model (model.json, the shards its manifest lists, and the
 * packed bytes as model.mpk). Nothing else on disk is reachable.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';
import { BrowserRuntimeError } from './browser-error.js';
import { MeasurementPage } from './measurement-page.js';
import type { BrowserBackend } from './page-protocol.js';
import { PAGE_HTML, PAGE_PATHS, PAGE_SCRIPT } from './page-script.js';
import { ServedBrowser } from './served-browser.js';
import type { Route, StaticServer } from './static-server.js';

/** The compiled modelpress/loader bundle (scripts/bundle-loader.mjs, run by `npm run build`). */
export const LOADER_BUNDLE = join(PACKAGE_ROOT, 'dist', 'browser', 'modelpress-loader.js');

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

/** The whitelisted routes of the page and its scripts. Throws BrowserRuntimeError('not-built') when a file is missing. */
export function pageRoutes(): Record<string, Route> {
  const require = createRequire(import.meta.url);
  const pkgDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));
  const tfDist = join(pkgDir('@tensorflow/tfjs'), 'dist');
  const wasmDist = join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  const routes: Record<string, Route> = {
    [PAGE_PATHS.html]: { body: PAGE_HTML, type: 'text/html; charset=utf-8' },
    [PAGE_PATHS.script]: { body: PAGE_SCRIPT },
    [PAGE_PATHS.tf]: { file: join(tfDist, 'tf.min.js') },
    [PAGE_PATHS.tfWasm]: { file: join(wasmDist, 'tf-backend-wasm.min.js') },
    [PAGE_PATHS.loader]: { file: LOADER_BUNDLE },
  };
  for (const f of WASM_FILES) routes[`${PAGE_PATHS.wasmBase}${f}`] = { file: join(wasmDist, f) };
  for (const route of Object.values(routes)) {
    if ('file' in route && !existsSync(route.file)) {
      const hint = route.file === LOADER_BUNDLE ? 'build modelpress first (npm run build)' : 'reinstall dependencies (npm ci)';
      throw new BrowserRuntimeError('not-built', `${route.file} is missing: ${hint}`);
    }
  }
  return routes;
}

/** A model the server currently serves. */
export interface ServedModel {
  /** Unique within the session; also the page-side model id prefix. */
  id: string;
  /** URL of model.json (stock tfjs). */
  tfjsUrl: string;
  /** URL of the packed container, when packed bytes were given. */
  packedUrl: string | null;
  /** Stops serving its files. */
  release(): void;
}

export class BrowserSession {
  private models = 0;
  readonly server: StaticServer;

  private constructor(private readonly served: ServedBrowser<MeasurementPage>) {
    this.server = served.server;
  }

  /**
   * Starts the server and launches Chromium.
   * @throws BrowserUnavailableError when Chromium is missing or does not start (with the install hint).
   * @throws BrowserRuntimeError('not-built') when the loader bundle or a tfjs asset is missing.
   */
  static async open(options: { executable?: string } = {}): Promise<BrowserSession> {
    const routes = pageRoutes();
    return new BrowserSession(await ServedBrowser.open<MeasurementPage>('BrowserSession', routes, options));
  }

  /** The page for `backend` + `threads`, opened and set up on first use. Throws BrowserRuntimeError. */
  page(backend: BrowserBackend, threads: number): Promise<MeasurementPage> {
    return this.served.page(`${backend}/${threads}`, () =>
      MeasurementPage.open(this.served.browser.context, this.server.origin, { backend, threads, wasmBase: `${this.server.origin}${PAGE_PATHS.wasmBase}` }),
    );
  }

  /** Serves the tfjs model directory `dir` (and `packed` bytes as model.mpk) under a fresh /models/<n>/. */
  async serveModel(dir: string, packed?: Uint8Array): Promise<ServedModel> {
    const id = `m${++this.models}`;
    const base = `/models/${id}/`;
    const modelJson = join(dir, 'model.json');
    let manifest: unknown;
    try {
      manifest = (JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest?: unknown }).weightsManifest;
    } catch (error) {
      throw new BrowserRuntimeError('model', `${modelJson}: cannot read the model (${error instanceof Error ? error.message : String(error)})`);
    }
    const paths: string[] = [];
    for (const group of Array.isArray(manifest) ? manifest : []) {
      for (const p of (group as { paths?: unknown }).paths as unknown[] ?? []) {
        // Shards must be inside the model directory: a manifest never makes the server read elsewhere.
        if (typeof p !== 'string' || p.startsWith('/') || normalize(p).split(sep).includes('..')) {
          throw new BrowserRuntimeError('model', `${modelJson}: weight path ${JSON.stringify(p)} is not inside the model directory`);
        }
        paths.push(p);
      }
    }
    const added = [`${base}model.json`];
    this.server.add(`${base}model.json`, { file: modelJson });
    for (const p of paths) {
      const route = `${base}${p.split(sep).join('/')}`;
      this.server.add(route, { file: join(dir, p) });
      added.push(route);
    }
    if (packed) {
      this.server.add(`${base}model.mpk`, { body: packed });
      added.push(`${base}model.mpk`);
    }
    return {
      id,
      tfjsUrl: `${this.server.origin}${base}model.json`,
      packedUrl: packed ? `${this.server.origin}${base}model.mpk` : null,
      release: () => added.forEach((r) => this.server.remove(r)),
    };
  }

  /** The browser's version string (e.g. 156.0.8078.108). */
  version(): string {
    return this.served.version();
  }

  close(): Promise<void> {
    return this.served.close();
  }
}
