/**
 * evaluate with the .tflite size budgets and `runtime: tflite` devices: the
 * candidate converted to an int8 .tflite file whose raw and gzip sizes are
 * judged, latency measured in the real TFLite interpreter (Chromium), and a
 * candidate the exporter cannot express reported as not measured, and
 * failing every `runtime: tflite` device (it cannot run there).
 */
import { decodeEvaluation } from '../../../src/contracts/evaluation.js';
import { renderEvaluationMarkdown } from '../../../src/contracts/evaluation-markdown.js';
import { saveModelDir } from '../../../src/engine/model-io.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { evaluateStage } from '../../../src/stages/evaluate/evaluate.js';
import { describeWithBrowser } from '../../helpers/browser.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, runWithDevices, trainSmallMlp, upstream } from './evaluate-helpers.js';

const FAST = { warmup: 2, minRuns: 5, maxRuns: 10, maxSeconds: 2 };

let h: Harness;
let trained: ArtifactRef;
let tanh: ArtifactRef;
beforeAll(async () => {
  h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
  trained = await trainSmallMlp(h);
  const tf = await h.engine.tf();
  const model = tf.sequential({ name: 'm', layers: [tf.layers.dense({ units: 8, inputShape: [784], activation: 'tanh', name: 'hidden' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' })] });
  await saveModelDir(model, `${h.dir}/tanh`);
  tanh = await h.artifact(`${h.dir}/tanh`);
}, 120000);
afterAll(() => h.cleanup());

test('size_tflite_kb / size_tflite_gzip_kb judge the int8 .tflite file; an inexpressible model is not measured', async () => {
  const devices: Record<string, Json> = { mcu: { runtime: 'wasm', budget: { size_tflite_kb: 20, size_tflite_gzip_kb: 0.5 } } };
  const r = await runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(upstream('train', 'train', trained), upstream('tanh', 'tanh', tanh)), devices);
  const m = r.metrics as any;
  const c = m.candidates.train;
  // 784*16 + 16*10 int8 weights plus int32 biases and the flatbuffer's tables: about 13 KB.
  expect(c.sizeBytes.tflite).toBeGreaterThan(784 * 16 + 160);
  expect(c.sizeBytes.tflite).toBeLessThan(20 * 1024);
  expect(c.sizeBytes.tfliteGzip).toBeLessThan(c.sizeBytes.tflite);
  const v = c.devices.mcu.verdicts;
  expect(v.find((x: any) => x.limit === 'size_tflite_kb')).toMatchObject({ ok: true, measured: c.sizeBytes.tflite / 1024, max: 20 });
  expect(v.find((x: any) => x.limit === 'size_tflite_gzip_kb')).toMatchObject({ ok: false, measured: c.sizeBytes.tfliteGzip / 1024, max: 0.5 });
  const t = m.candidates.tanh;
  expect(t.sizeBytes.tflite).toBeUndefined();
  expect(t.devices.mcu.verdicts.find((x: any) => x.limit === 'size_tflite_kb')).toMatchObject({ ok: null, measured: null });
  expect(r.logs.join('\n')).toContain("tanh: no .tflite file: layer hidden (Dense): activation 'tanh' is not supported");
}, 120000);

test('a model that cannot become a .tflite file fails a runtime: tflite device, and only that device', async () => {
  // Latency is not measured (`never`), so the phone's limits are all "not measured" for tanh:
  // without the `runs` verdict, not-measured limits neither pass nor fail and tanh would pass.
  const devices: Record<string, Json> = {
    phone: { runtime: 'tflite', budget: { size_tflite_kb: 100, latency_ms_p95: 1000 } },
    web: { runtime: 'wasm', budget: { size_tflite_kb: 100 } },
  };
  const r = await runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(upstream('train', 'train', trained), upstream('tanh', 'tanh', tanh)), devices);
  const m = r.metrics as any;
  const reason = "no .tflite file (layer hidden (Dense): activation 'tanh' is not supported (supported: linear, relu, relu6, softmax))";
  expect(m.candidates.tanh.devices.phone).toMatchObject({ ok: false, missed: ['runs'] });
  expect(m.candidates.tanh.devices.phone.verdicts.find((x: any) => x.limit === 'runs')).toEqual({ limit: 'runs', measured: null, unit: '', ok: false, excess: null, margin: `cannot run: ${reason}` });
  // Not a tflite runtime: the size limit is not measured, the device is not failed for it.
  expect(m.candidates.tanh.devices.web).toMatchObject({ ok: true, missed: [], unmeasured: ['size_tflite_kb'] });
  expect(m.candidates.train.devices.phone.ok).toBe(true);
  expect(m.candidates.train.devices.phone.verdicts.map((x: any) => x.limit)).not.toContain('runs');
  expect(m.budgets).toMatchObject({ met: true, best: 'train', passing: ['train'] });

  // The verdict survives the contract's codec and reads as a sentence.
  const d = decodeEvaluation(m);
  if (!d.ok) throw new Error(d.error);
  expect(d.value.candidates.find((c) => c.node === 'tanh')!.devices['phone']!.missed).toEqual(['runs']);
  expect(renderEvaluationMarkdown(d.value)).toContain(`cannot run: ${reason} missed`);

  // Alone, it is the closest candidate and the miss names the device and why.
  const alone = await runWithDevices(h, evaluateStage, { latency: { measure: 'never' } }, inputsOf(upstream('tanh', 'tanh', tanh)), { phone: devices['phone']! });
  const b = (alone.metrics as any).budgets;
  expect(b).toMatchObject({ met: false, closest: { candidate: 'tanh', missed: [{ device: 'phone', limit: 'runs', measured: null, budget: null }] } });
  expect(b.message).toContain(`missed phone runs (cannot run: ${reason})`);
  const da = decodeEvaluation(alone.metrics as Json);
  expect(da.ok && da.value.budgets.closest).toEqual(b.closest);
}, 120000);

describeWithBrowser('runtime: tflite devices', () => {
  test('latency measured in the TFLite interpreter, judged against the budget', async () => {
    const devices: Record<string, Json> = {
      lite: { runtime: 'tflite', budget: { latency_ms_p95: 1000, size_tflite_kb: 100 } },
      same: { runtime: 'tflite', budget: { latency_ms_p50: 1e-6 } },
    };
    const r = await runWithDevices(h, evaluateStage, { latency: FAST }, inputsOf(upstream('train', 'train', trained), upstream('tanh', 'tanh', tanh)), devices);
    const m = r.metrics as any;
    expect(m.devices.lite).toEqual({ runtime: 'tflite', threads: 1, batch: 1, budget: { latency_ms_p95: 1000, size_tflite_kb: 100 } });
    const l = m.candidates.train.latency.lite;
    expect(l).toMatchObject({ measured: true, runtime: 'tflite', backendActual: 'tflite-wasm', threadsRequested: 1, batch: 1 });
    expect(l.runs).toBeGreaterThanOrEqual(5);
    expect(l.p50Ms).toBeGreaterThan(0);
    expect(l.p95Ms).toBeGreaterThanOrEqual(l.p50Ms);
    expect(m.candidates.train.latency.same).toEqual(l); // one measurement per runtime/threads/batch
    expect(m.candidates.train.devices.lite.ok).toBe(true);
    expect(m.candidates.train.devices.same.verdicts.find((x: any) => x.limit === 'latency_ms_p50').ok).toBe(false);
    expect(m.candidates.tanh.latency.lite).toEqual({ measured: false, note: "not measured: no .tflite file (layer hidden (Dense): activation 'tanh' is not supported (supported: linear, relu, relu6, softmax))" });
  }, 120000);
});
