/**
 * The evaluate stage with `runtime: browser` devices, end to end on a small
 * trained MLP and its uint8 copy: measured browser latency with real
 * verdicts, one measurement shared by devices with the same runtime /
 * backend / threads / batch, parity of stock tfjs and packed against Node in
 * the metrics and report.md; a failed parity fails the device; a missing
 * Chromium fails the stage with the install hint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRef, Json } from '../../src/plugin.js';
import { evaluateStage } from '../../src/stages/evaluate/evaluate.js';
import { parityText, withParity } from '../../src/stages/evaluate/evaluate-browser.js';
import type { ParityReport } from '../../src/stages/evaluate/evaluate-browser.js';
import { judgeDevice, summarizeBudgets } from '../../src/contracts/budget.js';
import { quantizeStage } from '../../src/stages/quantize/quantize.js';
import { describeWithBrowser } from '../helpers/browser.js';
import { inputsOf, runWithDevices, trainSmallMlp, upstream } from '../stages/evaluate/evaluate-helpers.js';
import { createHarness, modelInput } from '../stages/harness.js';
import type { Harness } from '../stages/harness.js';

const FAST = { warmup: 2, minRuns: 5, maxRuns: 10, maxSeconds: 2 };

describeWithBrowser('evaluate with browser devices', () => {
  let h: Harness;
  let trained: ArtifactRef;
  let uint8: ArtifactRef;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    trained = await trainSmallMlp(h);
    const q = await h.run(quantizeStage, { weights: 'uint8', minSize: 0 }, modelInput(trained));
    uint8 = await h.artifact(q.outputs.model!);
  }, 120000);
  afterAll(() => h?.cleanup());

  test('measured latency, shared measurements, parity in metrics and report.md', async () => {
    const devices: Record<string, Json> = {
      node: { runtime: 'wasm' },
      web: { runtime: 'browser', backend: 'wasm', budget: { latency_ms_p95: 1000 } },
      same: { runtime: 'browser', budget: { latency_ms_p50: 1000 } }, // backend defaults to wasm: shares web's measurement
      slow: { runtime: 'browser', backend: 'cpu', budget: { latency_ms_p95: 1e-6 } },
    };
    const r = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'train', latency: FAST },
      inputsOf(upstream('train', 'train', trained), upstream('quantize', 'quantize', uint8)),
      devices,
    );
    const m = r.metrics as any;
    expect(m.devices.web).toEqual({ runtime: 'browser', backend: 'wasm', threads: 1, batch: 1, budget: { latency_ms_p95: 1000 } });
    expect(m.devices.node).toEqual({ runtime: 'wasm', threads: 1, batch: 1, budget: {} });
    const c = m.candidates.quantize;
    expect(c.latency.web).toMatchObject({ measured: true, runtime: 'browser', backend: 'wasm', backendActual: 'wasm', threadsActual: 1, batch: 1 });
    expect(c.latency.web.runs).toBeGreaterThanOrEqual(5);
    expect(c.latency.web.p95Ms).toBeGreaterThanOrEqual(c.latency.web.p50Ms);
    expect(c.latency.same).toEqual(c.latency.web); // one measurement for both
    expect(c.latency.node).toMatchObject({ measured: true, runtime: 'wasm' });
    expect(c.latency.slow).toMatchObject({ measured: true, backend: 'cpu', backendActual: 'cpu' });

    for (const dev of ['web', 'same', 'slow']) {
      const p = c.parity[dev];
      expect(p.examples).toBe(32);
      expect(p.tolerance).toBe(1e-5);
      expect(p.tfjs).toMatchObject({ argmaxMatches: 32, ok: true });
      expect(p.packed).toMatchObject({ argmaxMatches: 32, ok: true });
      expect(p.tfjs.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(p.ok).toBe(true);
    }
    expect(c.parity.node).toBeUndefined();

    expect(c.devices.web.ok).toBe(true);
    expect(c.devices.web.verdicts.map((v: any) => [v.limit, v.ok])).toEqual([['latency_ms_p95', true], ['parity', true]]);
    expect(c.devices.slow.ok).toBe(false);
    expect(c.devices.slow.missed).toEqual(['latency_ms_p95']);
    expect(m.budgets.met).toBe(false);
    expect(m.budgets.unmeasured).toEqual([]);

    const md = await readFile(join(r.outputs.report!, 'report.md'), 'utf8');
    expect(md).toContain('## web (browser wasm, 1 thread, batch 1)');
    expect(md).toMatch(/- quantize: web: p95 latency [\d.]+ ms <= 1000 ms ok, parity tfjs argmax 32\/32, max \|diff\| [^;]+; packed argmax 32\/32, max \|diff\| .+ \(tolerance 1e-5\) ok/);
    expect(md).toMatch(/- quantize: slow: p95 latency [\d.]+ ms <= 0.000001 ms missed \(\+[\d.]+ ms over\), parity tfjs argmax 32\/32/);
  }, 180000);

  test('webgl: measured (software-rendered by SwiftShader here) or not measured with the reason', async () => {
    const r = await runWithDevices(h, evaluateStage, { latency: FAST }, inputsOf(upstream('train', 'train', trained)), {
      gl: { runtime: 'browser', backend: 'webgl', budget: { latency_ms_p95: 1000 } },
    });
    const c = (r.metrics as any).candidates.train;
    if (c.latency.gl.measured) {
      expect(c.latency.gl.backendActual).toBe('webgl');
      expect(c.parity.gl.tolerance).toBe(1e-3);
      expect(c.parity.gl.ok).toBe(true);
    } else {
      expect(c.latency.gl.note).toMatch(/^not measured: tfjs backend webgl is not available in this browser/);
      expect(c.devices.gl.unmeasured).toEqual(['latency_ms_p95', 'parity']);
    }
  }, 120000);
});

describe('evaluate: parity failures and a missing browser', () => {
  test('a failed parity check fails the device and names itself in the budgets message', () => {
    const parity: ParityReport = {
      examples: 32,
      tolerance: 1e-5,
      tfjs: { argmaxMatches: 31, maxAbsDiff: 0.02, ok: false },
      packed: { argmaxMatches: 32, maxAbsDiff: 0, ok: true },
      ok: false,
    };
    const base = judgeDevice({ latency_ms_p95: 10 }, {
      values: { size_kb: 1, size_gzip_kb: 1, size_brotli_kb: 1, size_packed_kb: 1, size_tflite_kb: null, size_tflite_gzip_kb: null, latency_ms_p50: 1, latency_ms_p95: 2, accuracy_min: 90, accuracy_drop_pp: 0, agreement_min: null },
      notes: {},
    });
    expect(base.ok).toBe(true);
    const d = withParity(base, parity);
    expect(d.ok).toBe(false);
    expect(d.missed).toEqual(['parity']);
    expect(d.verdicts[1]).toMatchObject({ limit: 'parity', measured: 0.02, max: 1e-5, ok: false });
    expect(parityText(parity)).toBe('tfjs argmax 31/32, max |diff| 2e-2; packed argmax 32/32, max |diff| 0 (tolerance 1e-5)');
    const s = summarizeBudgets([{ node: 'q', accuracy: 90, rawBytes: 1, devices: { web: d } }]);
    expect(s.met).toBe(false);
    expect(s.message).toBe('no candidate meets every budget; closest: q, missed web parity (tfjs argmax 31/32, max |diff| 2e-2; packed argmax 32/32, max |diff| 0 (tolerance 1e-5))');
  });

  test('MODELPRESS_CHROMIUM=/nonexistent: the stage fails with the install hint', async () => {
    const saved = process.env.MODELPRESS_CHROMIUM;
    process.env.MODELPRESS_CHROMIUM = '/nonexistent';
    const h = await createHarness({ model: { build: { arch: 'mlp', units: [4] } } });
    try {
      const model = await h.engine.buildModel({ arch: 'mlp', units: [4] });
      await h.engine.saveModel(model, join(h.dir, 'm'));
      model.dispose();
      const ref = await h.artifact(join(h.dir, 'm'));
      await expect(
        runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(upstream('m', 'm', ref)), { web: { runtime: 'browser' } }),
      ).rejects.toThrow('Chromium not found at /nonexistent: install it with `apt-get install chromium`');
    } finally {
      if (saved === undefined) delete process.env.MODELPRESS_CHROMIUM;
      else process.env.MODELPRESS_CHROMIUM = saved;
      await h.cleanup();
    }
  }, 60000);
});
