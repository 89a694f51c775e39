/**
 * Browser latency on a tiny MLP: the result has the Node measurement's shape
 * (runs, p50 <= p95, spread, stop reason), the limits are honoured, and the
 * page refuses to load anything from outside its 127.0.0.1 origin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureBrowserLatency } from '../../src/browser/browser-latency.js';
import { BrowserUnavailableError } from '../../src/browser/chromium.js';
import { BrowserSession } from '../../src/browser/session.js';
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

  test('the page loads nothing from outside 127.0.0.1', async () => {
    const page = await session.page('wasm', 1);
    await expect(page.call('load', 'ext', { kind: 'tfjs', url: 'http://203.0.113.1/model.json' })).rejects.toThrow(
      /load in the page failed: .*blocked http:\/\/203\.0\.113\.1\/model\.json/,
    );
  }, 60000);
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
