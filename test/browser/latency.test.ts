/**
 * Browser latency on a tiny MLP: the result has the Node measurement's shape
 * (runs, p50 <= p95, spread, stop reason), the limits are honoured, and the
 * page refuses to load anything from outside its 127.0.0.1 origin.
 *
 * wasm threads: tfjs-backend-wasm 4.22 runs min(threads, 4,
 * navigator.hardwareConcurrency / 2) threads (wasmThreadsCap). On the real
 * core count the result and its note say so; with Chromium made to report 4
 * logical cores, `threads: 2` really runs 2 threads, which proves our page,
 * server and COOP/COEP headers are not what limits it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureBrowserLatency, setupNotes, wasmThreadsCap } from '../../src/browser/browser-latency.js';
import { BrowserUnavailableError, launchChromium } from '../../src/browser/chromium.js';
import type { LaunchedBrowser } from '../../src/browser/chromium.js';
import { MeasurementPage } from '../../src/browser/measurement-page.js';
import { PAGE_PATHS } from '../../src/browser/page-script.js';
import { BrowserSession, pageRoutes } from '../../src/browser/session.js';
import { startStaticServer } from '../../src/browser/static-server.js';
import type { StaticServer } from '../../src/browser/static-server.js';
import type { ServedModel } from '../../src/browser/session.js';
import { createEngine } from '../../src/engine/engine.js';
import { describeWithBrowser } from '../helpers/browser.js';

describeWithBrowser('browser latency', () => {
  let dir: string;
  let session: BrowserSession;
  let served: ServedModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-blat-'));
    const engine = createEngine('wasm', 1);
    const model = await engine.buildModel({ arch: 'mlp', units: [16] });
    await engine.saveModel(model, join(dir, 'mlp'));
    model.dispose();
    session = await BrowserSession.open();
    served = await session.serveModel(join(dir, 'mlp'));
  }, 60000);
  afterAll(async () => {
    await session?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('wasm: warm-up, timed runs until a limit, the Node result shape', async () => {
    const page = await session.page('wasm', 1);
    const r = await measureBrowserLatency(page, 'lat', served.tfjsUrl, session.version(), {
      batch: 4, warmup: 3, minRuns: 10, maxRuns: 40, maxSeconds: 3, seed: 7, maxSamples: 5,
    });
    expect(r).toMatchObject({ runtime: 'browser', backend: 'wasm', backendActual: 'wasm', threadsRequested: 1, threadsActual: 1, batch: 4, warmup: 3, crossOriginIsolated: true });
    expect(r.inputShapes).toEqual([[4, 784]]);
    expect(r.runs).toBeGreaterThanOrEqual(10);
    expect(r.runs).toBeLessThanOrEqual(40);
    expect(['stable', 'maxRuns', 'maxSeconds']).toContain(r.stopReason);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p95Ms).toBeGreaterThanOrEqual(r.p50Ms);
    expect(r.spread).toBeCloseTo(r.p95Ms / r.p50Ms, 10);
    expect(r.minMs).toBeLessThanOrEqual(r.p50Ms);
    expect(r.samplesMs).toHaveLength(5);
    expect(r.browserVersion).toMatch(/^\d+\./);
    expect(r.tfjsVersion).toBe('4.22.0');
    await page.call('dispose', 'lat');
  }, 60000);

  test('cpu backend; maxRuns caps the runs', async () => {
    const page = await session.page('cpu', 2);
    const r = await measureBrowserLatency(page, 'lat', served.tfjsUrl, session.version(), { warmup: 1, minRuns: 5, maxRuns: 5, maxSeconds: 5 });
    expect(r).toMatchObject({ backend: 'cpu', backendActual: 'cpu', threadsActual: 1, runs: 5 });
    expect(r.stopReason === 'maxRuns' || r.stopReason === 'stable').toBe(true);
    expect(r.notes).toEqual(['threads: 2 is not applied to the cpu backend']);
    await page.call('dispose', 'lat');
  }, 60000);

  test('wasm threads 2: tfjs runs min(2, 4, logical cores / 2) threads, and the note says why when that is fewer', async () => {
    const page = await session.page('wasm', 2);
    const hc = page.info.hardwareConcurrency;
    expect(typeof hc).toBe('number');
    const expected = Math.min(2, wasmThreadsCap(hc)!);
    expect(page.info).toMatchObject({ backendActual: 'wasm', crossOriginIsolated: true, threadsActual: expected });
    expect(setupNotes(page)).toEqual(
      expected < 2
        ? [
            `requested 2 wasm threads, tfjs-backend-wasm reports ${expected}: it caps threads at ` +
              `min(4, navigator.hardwareConcurrency / 2) and this browser reports ${hc} logical cores`,
          ]
        : [],
    );
  }, 60000);

  test('the page loads nothing from outside 127.0.0.1', async () => {
    const page = await session.page('wasm', 1);
    await expect(page.call('load', 'ext', { kind: 'tfjs', url: 'http://203.0.113.1/model.json' })).rejects.toThrow(
      /load in the page failed: .*blocked http:\/\/203\.0\.113\.1\/model\.json/,
    );
  }, 60000);
});

test('wasmThreadsCap: tfjs-backend-wasm 4.22 caps threads at min(4, hardwareConcurrency / 2), at least 1', () => {
  expect([1, 2, 3, 4, 5, 6, 8, 16].map((hc) => wasmThreadsCap(hc))).toEqual([1, 1, 1, 2, 2, 3, 4, 4]);
  expect(wasmThreadsCap(null)).toBeNull();
});

describeWithBrowser('wasm threads when Chromium reports 4 logical cores', () => {
  let dir: string;
  let browser: LaunchedBrowser;
  let server: StaticServer;
  const blocked: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-bthr-'));
    const engine = createEngine('wasm', 1);
    const model = await engine.buildModel({ arch: 'mlp', units: [512, 512] });
    await engine.saveModel(model, join(dir, 'mlp'));
    model.dispose();
    server = await startStaticServer(pageRoutes());
    const json = JSON.parse(await readFile(join(dir, 'mlp', 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    server.add('/models/big/model.json', { file: join(dir, 'mlp', 'model.json') });
    for (const p of json.weightsManifest.flatMap((g) => g.paths)) server.add(`/models/big/${p}`, { file: join(dir, 'mlp', p) });
    browser = await launchChromium();
    // Test only: tfjs reads navigator.hardwareConcurrency once, when its wasm module starts.
    await browser.context.addInitScript(() => {
      const nav = (globalThis as unknown as { Navigator: { prototype: object } }).Navigator.prototype;
      Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => 4 });
    });
    browser.context.on('request', (r) => {
      if (!r.url().startsWith(`${server.origin}/`) && !/^(blob|data):/.test(r.url())) blocked.push(r.url());
    });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('threads 2 gives getThreadsCount() === 2 (threads 1 gives 1), both measured', async () => {
    const wasmBase = `${server.origin}${PAGE_PATHS.wasmBase}`;
    const one = await MeasurementPage.open(browser.context, server.origin, { backend: 'wasm', threads: 1, wasmBase });
    const two = await MeasurementPage.open(browser.context, server.origin, { backend: 'wasm', threads: 2, wasmBase });
    try {
      expect(one.info).toMatchObject({ threadsActual: 1, hardwareConcurrency: 4, crossOriginIsolated: true });
      expect(two.info).toMatchObject({ threadsActual: 2, hardwareConcurrency: 4, crossOriginIsolated: true });
      expect(setupNotes(two)).toEqual([]);
      const opts = { batch: 32, warmup: 5, minRuns: 20, maxRuns: 200, maxSeconds: 4, seed: 1 };
      const url = `${server.origin}/models/big/model.json`;
      const r1 = await measureBrowserLatency(one, 'big', url, 'test', opts);
      const r2 = await measureBrowserLatency(two, 'big', url, 'test', opts);
      expect(r2).toMatchObject({ threadsRequested: 2, threadsActual: 2, notes: [] });
      console.log(
        `mlp 784-512-512-10, batch 32, wasm in Chromium: threads 1 p50 ${r1.p50Ms.toFixed(3)} ms p95 ${r1.p95Ms.toFixed(3)} ms (${r1.runs} runs); ` +
          `threads 2 p50 ${r2.p50Ms.toFixed(3)} ms p95 ${r2.p95Ms.toFixed(3)} ms (${r2.runs} runs)`,
      );
      expect(blocked).toEqual([]);
    } finally {
      await one.close();
      await two.close();
    }
  }, 90000);
});

describe('browser missing', () => {
  const saved = process.env.MODELPRESS_CHROMIUM;
  afterEach(() => {
    if (saved === undefined) delete process.env.MODELPRESS_CHROMIUM;
    else process.env.MODELPRESS_CHROMIUM = saved;
  });

  test('MODELPRESS_CHROMIUM=/nonexistent: BrowserUnavailableError saying how to install it', async () => {
    process.env.MODELPRESS_CHROMIUM = '/nonexistent';
    const error = await BrowserSession.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrowserUnavailableError);
    expect((error as Error).message).toBe(
      'Chromium not found at /nonexistent: install it with `apt-get install chromium` (Debian/Ubuntu; as root or with sudo), ' +
        'or point MODELPRESS_CHROMIUM at a Chromium or Chrome executable',
    );
  });
});
