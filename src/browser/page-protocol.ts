/**
 * What the Node side and the measurement page (page-script.ts) exchange
 * through Playwright's page.evaluate: plain JSON values only (numbers as
 * arrays, never typed arrays, so every Playwright version serialises them the
 * same way). Types only.
 */

/** The tfjs backends a browser device can name (schemas/recipe.schema.json `$defs.device.backend`). */
export type BrowserBackend = 'wasm' | 'webgl' | 'cpu';

export const BROWSER_BACKENDS: readonly BrowserBackend[] = ['wasm', 'webgl', 'cpu'];

/** Node -> page: how to set tfjs up (once per page). */
export interface PageSetup {
  backend: BrowserBackend;
  /** Threads requested (wasm only: tf.wasm.setThreadsCount before the backend starts). */
  threads: number;
  /** URL prefix (ending in `/`) of the tfjs-backend-wasm .wasm files on our server. */
  wasmBase: string;
}

/** Page -> Node: what tfjs actually runs on. */
export interface PageInfo {
  backendActual: string;
  /** wasm: tf.wasm.getThreadsCount(); cpu: 1; webgl: null (the GPU's own business). */
  threadsActual: number | null;
  /** COOP/COEP took effect: SharedArrayBuffer (wasm threads) and 5 µs timers are available. */
  crossOriginIsolated: boolean;
  /**
   * navigator.hardwareConcurrency (logical cores the browser reports; null if
   * it reports none). tfjs-backend-wasm 4.22 caps its thread count at
   * min(4, hardwareConcurrency / 2), whatever setThreadsCount asked for.
   */
  hardwareConcurrency: number | null;
  tfjsVersion: string;
  userAgent: string;
  /** webgl only: the renderer string (e.g. SwiftShader when software-rendered). */
  renderer: string | null;
}

/** Which file the page loads a model from. */
export type ModelKind = 'tfjs' | 'packed';

export interface PageModelSpec {
  kind: ModelKind;
  /** tfjs: the model.json URL; packed: the .mpk URL (read by modelpress/loader's packedIOHandler). */
  url: string;
}

export interface PageLoaded {
  loadMs: number;
  inputs: { name: string; shape: (number | null)[]; dtype: string }[];
}

/** A tensor as JSON. */
export interface PageTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  values: number[];
}

/** The global the page script defines: `window.__modelpress`. */
export interface PageApi {
  setup(setup: PageSetup): Promise<PageInfo>;
  load(id: string, spec: PageModelSpec): Promise<PageLoaded>;
  /** Keeps `inputs` as the tensors `time` feeds model `id`. */
  setInputs(id: string, inputs: PageTensor[]): void;
  /** Up to `count` timed runs of model `id` (stops early once `budgetMs` has passed); ms per run. */
  time(id: string, count: number, budgetMs: number): number[];
  /** One inference of model `id` on `inputs`; every output read back. */
  predict(id: string, inputs: PageTensor[]): PageTensor[];
  dispose(id: string): void;
}

export const PAGE_GLOBAL = '__modelpress';
