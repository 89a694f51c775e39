/**
 * The evaluate stage on small real models: an MLP [16] trained on the
 * harness's MNIST slice and a 90%-pruned copy of it. Sizes are deterministic,
 * so limits are set just above / below the independently measured values.
 */
import { packModel } from '../../../src/formats/packed.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measureArtifactSize } from '../../../src/measure/size.js';
import { modelStats } from '../../../src/measure/model-stats.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { evaluateStage } from '../../../src/stages/evaluate/evaluate.js';
import { evaluateAccuracy } from '../../../src/stages/training/train-loop.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, prunedCopy, runWithDevices, trainSmallMlp, upstream } from './evaluate-helpers.js';

const NO_LATENCY = { measure: 'never' } as const;

describe('evaluate stage', () => {
  let h: Harness;
  let trained: ArtifactRef;
  let pruned: ArtifactRef;
  let trainedSize: { raw: number; gzip: number; brotli: number };
  let prunedSize: { raw: number; gzip: number; brotli: number };
  let trainedAcc: number;
  let prunedAcc: number;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    trained = await trainSmallMlp(h);
    pruned = await prunedCopy(h, trained, 0.9, 'pruned');
    trainedSize = await measureArtifactSize(trained.dir);
    prunedSize = await measureArtifactSize(pruned.dir);
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('test');
    for (const [ref, set] of [
      [trained, (a: number) => (trainedAcc = a)],
      [pruned, (a: number) => (prunedAcc = a)],
    ] as const) {
      const m = await h.engine.loadModel(ref.dir);
      set((await evaluateAccuracy(tf, m, ds, 100)).accuracy);
      m.dispose();
    }
  }, 120000);
  afterAll(() => h.cleanup());

  test('sizes, stats and accuracy; verdicts for limits chosen to pass and to fail', async () => {
    // Pruned zeros stay float32 in the stock format: same raw size, smaller gzip.
    expect(prunedSize.raw).toBe(trainedSize.raw);
    expect(prunedSize.gzip).toBeLessThan(trainedSize.gzip);
    const rawKb = prunedSize.raw / 1024;
    const gzKb = prunedSize.gzip / 1024;
    const brKb = prunedSize.brotli / 1024;
    const devices: Record<string, Json> = {
      roomy: { runtime: 'wasm', budget: { size_kb: rawKb + 0.01, size_gzip_kb: gzKb, size_brotli_kb: brKb + 1, accuracy_min: prunedAcc - 1 } },
      tight: { runtime: 'cpu', budget: { size_kb: rawKb - 2, size_gzip_kb: gzKb - 0.5, accuracy_min: prunedAcc + 0.5 } },
    };
    const r = await runWithDevices(h, evaluateStage, { latency: NO_LATENCY }, inputsOf(upstream('prune', 'prune', pruned)), devices);
    const c = (r.metrics!.candidates as any).prune;
    const packed = (await packModel(pruned.dir)).bytes.length;
    expect(c.sizeBytes).toEqual({ raw: prunedSize.raw, gzip: prunedSize.gzip, brotli: prunedSize.brotli, packed });
    expect(c.accuracy).toBeCloseTo(prunedAcc, 10);
    expect(c.accuracyDropPp).toBe(0); // the only model is its own reference
    const stats = await modelStats(pruned.dir);
    expect(c.params).toBe(784 * 16 + 16 + 16 * 10 + 10);
    expect(c.params).toBe(stats.params);
    expect(c.nonZeros).toBe(stats.nonZeros);
    expect(c.nonZeros).toBeLessThan(0.2 * c.params);
    expect(c.macs).toBe(784 * 16 + 16 * 10);

    const roomy = c.devices.roomy;
    expect(roomy.ok).toBe(true);
    expect(roomy.verdicts.map((v: any) => [v.limit, v.ok])).toEqual([
      ['size_kb', true],
      ['size_gzip_kb', true], // equal to the limit is within it
      ['size_brotli_kb', true],
      ['accuracy_min', true],
    ]);
    expect(roomy.verdicts[0]).toMatchObject({ max: rawKb + 0.01, measured: rawKb, unit: 'KB', margin: '0.01 KB under' });

    const tight = c.devices.tight;
    expect(tight).toMatchObject({ ok: false, missed: ['size_kb', 'size_gzip_kb', 'accuracy_min'] });
    expect(tight.verdicts[0]).toMatchObject({ limit: 'size_kb', measured: rawKb, ok: false, margin: '+2 KB over' });
    expect(tight.verdicts[1]).toMatchObject({ limit: 'size_gzip_kb', ok: false, margin: '+0.5 KB over' });
    expect(tight.verdicts[2]).toMatchObject({ limit: 'accuracy_min', ok: false, margin: '0.50 pp short' });

    const budgets = r.metrics!.budgets as any;
    expect(budgets.met).toBe(false);
    expect(budgets.closest.candidate).toBe('prune');
    expect(budgets.closest.missed.map((m: any) => `${m.device} ${m.limit}`)).toEqual(['tight size_kb', 'tight size_gzip_kb', 'tight accuracy_min']);
    expect(r.logs.some((l) => l.startsWith('warn no candidate meets every budget'))).toBe(true);
  });

  test('accuracy drop against a named reference; the reference is the baseline, not a candidate', async () => {
    const devices: Record<string, Json> = { phone: { runtime: 'wasm', budget: { accuracy_drop_pp: 100, size_kb: 1000 } } };
    const r = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'train', topK: 3, latency: NO_LATENCY },
      inputsOf(upstream('train', 'train', trained), upstream('prune[sparsity=0.9]', 'prune', pruned, { sparsity: 0.9 })),
      devices,
    );
    const m = r.metrics as any;
    expect(m.reference).toBe('train');
    expect(m.referenceAccuracy).toBeCloseTo(trainedAcc, 10);
    const p = m.candidates['prune[sparsity=0.9]'];
    expect(p.accuracyDropPp).toBeCloseTo(trainedAcc - prunedAcc, 10);
    expect(p.k).toBe(3);
    expect(p.topKAccuracy).toBeGreaterThanOrEqual(p.accuracy);
    expect(p.matrix).toEqual({ sparsity: 0.9 });
    expect(m.candidates.train).toMatchObject({ reference: true, judged: false, accuracyDropPp: 0 });
    expect(p.devices.phone.verdicts.find((v: any) => v.limit === 'accuracy_drop_pp')).toMatchObject({ measured: expect.closeTo(trainedAcc - prunedAcc, 10), ok: true });
    expect(m.budgets).toMatchObject({ met: true, best: 'prune[sparsity=0.9]', passing: ['prune[sparsity=0.9]'] });

    // A drop limit below the real drop fails (the pruned model loses accuracy on this slice).
    expect(trainedAcc - prunedAcc).toBeGreaterThan(0);
    const strict = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'train', latency: NO_LATENCY },
      inputsOf(upstream('train', 'train', trained), upstream('prune', 'prune', pruned)),
      { phone: { runtime: 'wasm', budget: { accuracy_drop_pp: (trainedAcc - prunedAcc) / 2 } } },
    );
    const v = (strict.metrics as any).candidates.prune.devices.phone.verdicts[0];
    expect(v).toMatchObject({ limit: 'accuracy_drop_pp', ok: false, unit: 'pp' });
    expect(v.excess).toBeCloseTo((trainedAcc - prunedAcc) / 2, 10);
  });

  test('no candidate meets the budgets: the closest one is named with the limit it missed', async () => {
    // Limit between the two gzip sizes minus a little: both miss, the pruned one by less.
    const limitKb = prunedSize.gzip / 1024 - 0.25;
    const r = await runWithDevices(
      h,
      evaluateStage,
      { latency: NO_LATENCY },
      inputsOf(upstream('dense', 'quantize', trained), upstream('sparse', 'quantize', pruned)),
      { phone: { runtime: 'wasm', budget: { size_gzip_kb: limitKb } } },
    );
    const b = (r.metrics as any).budgets;
    expect(b.met).toBe(false);
    expect(b.best).toBeNull();
    expect(b.closest).toEqual({
      candidate: 'sparse',
      missed: [{ device: 'phone', limit: 'size_gzip_kb', measured: prunedSize.gzip / 1024, budget: limitKb, unit: 'KB', margin: '+0.25 KB over' }],
    });
    expect(b.message).toContain('closest: sparse, missed phone size_gzip_kb');
    // The report is written all the same.
    const md = await readFile(join(r.outputs.report!, 'report.md'), 'utf8');
    expect(md).toContain('**Budgets: MISSED.**');
    expect(md).toContain('- sparse: phone: gzip size');
    expect(md).toContain('missed (+0.25 KB over)');
  });

  test('latency in a child process per device; tfjs-node (not installed) is not measured (null); packed size is', async () => {
    const devices: Record<string, Json> = {
      phone: { runtime: 'wasm', threads: 1, batch: 1, budget: { latency_ms_p95: 10000, latency_ms_p50: 0.000001, size_packed_kb: 100, size_kb: 1000 } },
      // runtime: browser is covered by test/browser/evaluate-browser.test.ts (it needs Chromium).
      server: { runtime: 'tfjs-node', budget: { latency_ms_p50: 5 } },
    };
    const r = await runWithDevices(
      h,
      evaluateStage,
      { latency: { warmup: 2, minRuns: 5, maxRuns: 20, maxSeconds: 1 } },
      inputsOf(upstream('prune', 'prune', pruned)),
      devices,
    );
    const c = (r.metrics as any).candidates.prune;
    const l = c.latency.phone;
    expect(l.measured).toBe(true);
    expect(l.pid).not.toBe(process.pid);
    expect(l.runs).toBeGreaterThanOrEqual(5);
    expect(l.p95Ms).toBeGreaterThanOrEqual(l.p50Ms);
    expect(l.backendActual).toBe('wasm');
    const phone = c.devices.phone.verdicts;
    expect(phone.find((v: any) => v.limit === 'latency_ms_p95')).toMatchObject({ measured: l.p95Ms, ok: true, unit: 'ms' });
    expect(phone.find((v: any) => v.limit === 'latency_ms_p50')).toMatchObject({ measured: l.p50Ms, ok: false });
    // The packed container (src/formats/packed.ts), all metadata counted.
    expect(phone.find((v: any) => v.limit === 'size_packed_kb')).toMatchObject({ measured: expect.any(Number), ok: true });

    expect(c.latency.server.measured).toBe(false);
    expect(c.latency.server.note).toMatch(/tfjs-node is not installed/);
    expect(c.devices.server.verdicts[0]).toMatchObject({ ok: null, measured: null });

    const b = (r.metrics as any).budgets;
    expect(b.met).toBe(false); // p50 limit is impossible
    expect(b.unmeasured).toEqual(['server latency_ms_p50']);

    const md = await readFile(join(r.outputs.report!, 'report.md'), 'utf8');
    expect(md).toContain('## phone (wasm, 1 thread, batch 1)');
    expect(md).toMatch(/- prune: phone: size [\d.]+ KB <= 1000 KB ok, packed size [\d.]+ KB <= 100 KB ok, p50 latency [\d.]+ ms <= 0\.000001 ms missed .*, p95 latency [\d.]+ ms <= 10000 ms ok/);
    const json = JSON.parse(await readFile(join(r.outputs.report!, 'report.json'), 'utf8'));
    expect(json.candidates[0].latency.phone.pid).toBe(l.pid);
    // The metrics carry the intervals the `unstable` verdict is judged on; report.json keeps its historical key order.
    expect(l.p95IntervalMs === null || (Array.isArray(l.p95IntervalMs) && l.p95IntervalMs[0] <= l.p95Ms && l.p95Ms <= l.p95IntervalMs[1])).toBe(true);
    expect(Object.keys(json.candidates[0].latency.phone)).toEqual([
      'measured', 'runtime', 'backendActual', 'threadsRequested', 'threadsActual', 'batch', 'p50Ms', 'p95Ms', 'runs', 'spread', 'stable',
      'stopReason', 'pid', 'notes', 'warmup', 'meanMs', 'minMs', 'maxMs', 'stdevMs', 'p50IntervalMs', 'p95IntervalMs', 'inputShapes',
      'loadMs', 'measureSeconds', 'nodeVersion', 'tfjsVersion',
    ]);
    expect(json.candidates[0].size.files[0].name).toBe('model.json');
  }, 120000);

  test('report.md has a line per candidate and device in the words of the design', async () => {
    const r = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'train', devices: ['phone'], latency: NO_LATENCY },
      inputsOf(upstream('train', 'train', trained), upstream('prune', 'prune', pruned)),
      {
        phone: { runtime: 'wasm', budget: { size_kb: 100, accuracy_drop_pp: 50 } },
        desktop: { runtime: 'cpu', budget: { size_kb: 1 } },
      },
    );
    const md = await readFile(join(r.outputs.report!, 'report.md'), 'utf8');
    const kb = String(Number((prunedSize.raw / 1024).toFixed(1)));
    expect(md).toContain(`- prune: phone: size ${kb} KB <= 100 KB ok, accuracy `);
    expect(md).toMatch(/- prune: phone: .*accuracy \d+\.\d\d% \((-|\+)\d+\.\d\d pp, max drop 50.00 pp\) ok/);
    expect(md).toContain('- train (reference, not judged): phone:');
    expect(md).not.toContain('desktop'); // only the devices asked for
    expect(Object.keys((r.metrics as any).devices)).toEqual(['phone']);
    // Sizes and accuracy are deterministic: a second run writes the same report.
    const again = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'train', devices: ['phone'], latency: NO_LATENCY },
      inputsOf(upstream('train', 'train', trained), upstream('prune', 'prune', pruned)),
      { phone: { runtime: 'wasm', budget: { size_kb: 100, accuracy_drop_pp: 50 } } },
    );
    expect(await readFile(join(again.outputs.report!, 'report.json'), 'utf8')).toBe(await readFile(join(r.outputs.report!, 'report.json'), 'utf8'));
    expect(await readFile(join(again.outputs.report!, 'report.md'), 'utf8')).toBe(md);
  });

  test('an unknown device or reference is a StageConfigError at its path', async () => {
    const devices: Record<string, Json> = { phone: { runtime: 'wasm' }, desktop: { runtime: 'cpu' } };
    const err = await runWithDevices(h, evaluateStage, { devices: ['phone', 'watch'] }, inputsOf(upstream('prune', 'prune', pruned)), devices).catch((e) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect(err.path).toEqual(['devices', 1]);
    expect(err.message).toBe('device `watch` is not declared under `devices:`; declared: phone, desktop');

    const ref = await runWithDevices(h, evaluateStage, { reference: 'teacher' }, inputsOf(upstream('prune', 'prune', pruned)), devices).catch((e) => e);
    expect(ref).toBeInstanceOf(StageConfigError);
    expect(ref.path).toEqual(['reference']);
    expect(ref.message).toContain('upstream models come from: prune');

    const fanned = await runWithDevices(
      h,
      evaluateStage,
      { reference: 'prune' },
      inputsOf(upstream('prune[s=1]', 'prune', pruned, { s: 1 }), upstream('prune[s=2]', 'prune', trained, { s: 2 })),
      devices,
    ).catch((e) => e);
    expect(fanned).toBeInstanceOf(StageConfigError);
    expect(fanned.hints).toEqual(['prune[s=1]', 'prune[s=2]']);

    const data = await runWithDevices(h, evaluateStage, { data: 'nope' }, inputsOf(upstream('prune', 'prune', pruned)), devices).catch((e) => e);
    expect(data).toBeInstanceOf(StageConfigError);
    expect(data.path).toEqual(['data']);
  });
});
