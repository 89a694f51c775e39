/**
 * A session with the real TFLite interpreter: one headless Chromium, one
 * 127.0.0.1 server whose routes are a whitelist (the page, the interpreter's
 * client script and wasm binaries from @tensorflow/tfjs-tflite, and the
 * models and inputs served while they run), one page per thread count.
 * Every request outside the server's origin is aborted and reported, as in
 * the tfjs measurement page (measurement-page.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { BrowserRuntimeError, pageErrorMessage } from './browser-error.js';
import { ServedBrowser } from './served-browser.js';
import type { Route, StaticServer } from './static-server.js';
import { TFLITE_PAGE_GLOBAL, TFLITE_PAGE_HTML, TFLITE_PAGE_PATHS, TFLITE_PAGE_SCRIPT } from './tflite-page.js';
import type { TflitePageApi, TfliteTensorInfo } from './tflite-page.js';

/** The whitelisted routes of the interpreter page. Throws BrowserRuntimeError('not-built') when the package is missing. */
export function tflitePageRoutes(): Record<string, Route> {
  const require = createRequire(import.meta.url);
  let wasmDir: string;
  try {
    wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
  } catch (error) {
    throw new BrowserRuntimeError('not-built', '@tensorflow/tfjs-tflite is not installed: reinstall dependencies (npm ci)', { cause: error });
  }
  if (!existsSync(join(wasmDir, 'tflite_web_api_client.js'))) throw new BrowserRuntimeError('not-built', `${wasmDir}/tflite_web_api_client.js is missing: reinstall dependencies (npm ci)`);
  const routes: Record<string, Route> = {
    [TFLITE_PAGE_PATHS.html]: { body: TFLITE_PAGE_HTML, type: 'text/html; charset=utf-8' },
    [TFLITE_PAGE_PATHS.script]: { body: TFLITE_PAGE_SCRIPT },
  };
  for (const f of readdirSync(wasmDir)) routes[`${TFLITE_PAGE_PATHS.wasmBase}${f}`] = { file: join(wasmDir, f) };
  return routes;
}

type Method = keyof TflitePageApi;

/** One page of the interpreter, set up for a thread count. */
class TflitePage {
  readonly blocked: string[] = [];
  readonly errors: string[] = [];
  features: unknown;
  constructor(
    private readonly page: Page,
    readonly origin: string,
  ) {}

  async call<M extends Method>(method: M, ...args: Parameters<TflitePageApi[M]>): Promise<Awaited<ReturnType<TflitePageApi[M]>>> {
    let result: unknown;
    try {
      result = await this.page.evaluate(
        ({ g, m, a }) => {
          const api = (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[g];
          if (!api) throw new Error('the TFLite page script did not run');
          return api[m]!(...a);
        },
        { g: TFLITE_PAGE_GLOBAL, m: method as string, a: args as unknown[] },
      );
    } catch (error) {
      const extra = [...this.errors, ...this.blocked.map((u) => `blocked ${u}`)].slice(-3);
      throw new BrowserRuntimeError('page', `${method} in the TFLite page failed: ${pageErrorMessage(error)}${extra.length ? ` (${extra.join('; ')})` : ''}`, { cause: error });
    }
    if (this.blocked.length > 0) throw new BrowserRuntimeError('page', `the TFLite page tried to load from outside ${this.origin}: ${this.blocked.slice(0, 3).join(', ')}`);
    return result as Awaited<ReturnType<TflitePageApi[M]>>;
  }

  close(): Promise<void> {
    return this.page.close().catch(() => undefined);
  }
}

/** A .tflite model loaded in the interpreter. */
export interface LoadedTflite {
  inputs: TfliteTensorInfo[];
  outputs: TfliteTensorInfo[];
  /** Runs the examples (raw values of the input's dtype, back to back); the first output of each, concatenated. */
  run(examples: Int8Array | Float32Array, count: number): Promise<number[]>;
  /** Milliseconds per timed inference on the first example. */
  time(example: Int8Array | Float32Array, warmup: number, runs: number): Promise<number[]>;
  release(): Promise<void>;
}

export class TfliteSession {
  private served = 0;
  private readonly server: StaticServer;

  private constructor(private readonly chromium: ServedBrowser<TflitePage>) {
    this.server = chromium.server;
  }

  /**
   * Starts the server and Chromium.
   * @throws BrowserUnavailableError when Chromium is missing or does not start.
   */
  static async open(options: { executable?: string } = {}): Promise<TfliteSession> {
    const routes = tflitePageRoutes();
    return new TfliteSession(await ServedBrowser.open<TflitePage>('TfliteSession', routes, options));
  }

  private page(threads: number): Promise<TflitePage> {
    return this.chromium.page(String(threads), async () => {
      const origin = this.server.origin;
      const page = await this.chromium.browser.context.newPage();
      const tp = new TflitePage(page, origin);
      page.setDefaultTimeout(120_000);
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(`${origin}/`) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
        tp.blocked.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('pageerror', (e) => tp.errors.push(e.message.split('\n')[0] ?? e.message));
      const response = await page.goto(`${origin}/`, { waitUntil: 'load' });
      if (!response?.ok()) throw new BrowserRuntimeError('page', `the TFLite page did not load from ${origin}/ (HTTP ${response?.status() ?? 'no response'})`);
      tp.features = (await tp.call('setup', { wasmBase: `${origin}${TFLITE_PAGE_PATHS.wasmBase}`, threads })).features;
      return tp;
    });
  }

  /** Loads `bytes` (a .tflite file) in the interpreter with `threads` threads. Throws BrowserRuntimeError('model') when the interpreter refuses it. */
  async load(bytes: Uint8Array, threads = 1): Promise<LoadedTflite> {
    const page = await this.page(threads);
    const id = `t${++this.served}`;
    const modelRoute = `/models/${id}.tflite`;
    this.server.add(modelRoute, { body: bytes, type: 'application/octet-stream' });
    let shape: { inputs: TfliteTensorInfo[]; outputs: TfliteTensorInfo[] };
    try {
      shape = await page.call('load', id, `${this.server.origin}${modelRoute}`);
    } catch (error) {
      this.server.remove(modelRoute);
      throw new BrowserRuntimeError('model', `the TFLite interpreter did not load the model: ${(error as Error).message}`, { cause: error });
    }
    let inputsServed = 0;
    const serveInputs = (values: Int8Array | Float32Array): { url: string; route: string } => {
      const route = `/inputs/${id}-${++inputsServed}.bin`;
      this.server.add(route, { body: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), type: 'application/octet-stream' });
      return { url: `${this.server.origin}${route}`, route };
    };
    return {
      ...shape,
      run: async (examples, count) => {
        const { url, route } = serveInputs(examples);
        try {
          return await page.call('run', id, url, count);
        } finally {
          this.server.remove(route);
        }
      },
      time: async (example, warmup, runs) => {
        const { url, route } = serveInputs(example);
        try {
          return await page.call('time', id, url, warmup, runs);
        } finally {
          this.server.remove(route);
        }
      },
      release: async () => {
        this.server.remove(modelRoute);
        await page.call('unload', id).catch(() => undefined);
      },
    };
  }

  /** The @tensorflow/tfjs-tflite package version whose interpreter build runs (e.g. 0.0.1-alpha.10). */
  interpreterVersion(): string {
    const require = createRequire(import.meta.url);
    return (require('@tensorflow/tfjs-tflite/package.json') as { version: string }).version;
  }

  /** The browser's version string (e.g. 156.0.8078.108). */
  version(): string {
    return this.chromium.version();
  }

  close(): Promise<void> {
    return this.chromium.close();
  }
}
