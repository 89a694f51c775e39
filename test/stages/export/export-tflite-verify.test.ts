/**
 * `tflite.verify`: a trained MLP exported to int8 and run by the real
 * TFLite interpreter in Chromium on test data; the interpreter agrees with
 * modelpress's simulation (argmax, within one quantization step) and its
 * accuracy is close to the float32 file's in the same interpreter.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactRef } from '../../../src/plugin.js';
import { exportStage } from '../../../src/stages/export/export.js';
import { describeWithBrowser } from '../../helpers/browser.js';
import { inputsOf, trainSmallMlp, upstream } from '../evaluate/evaluate-helpers.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

describeWithBrowser('export format: tflite, verified in the TFLite interpreter', () => {
  let h: Harness;
  let trained: ArtifactRef;
  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    trained = await trainSmallMlp(h);
  }, 120000);
  afterAll(() => h.cleanup());

  test.each(['float32', 'int8'] as const)('int8 with %s I/O: interpreter vs simulation and labels', async (io) => {
    const r = await h.run(
      exportStage,
      { format: 'tflite', tflite: { io, calibration: { data: 'train', samples: 64 }, verify: { data: 'test', samples: 200 } } },
      inputsOf(upstream('train', 'train', trained)),
      `export-${io}`,
    );
    const v = (r.metrics as any).tfliteVerification;
    expect(v.dataset).toBe('test');
    expect(v.exported.examples).toBe(200);
    expect(v.exported.argmaxAgreementPct).toBeGreaterThanOrEqual(99.5);
    expect(v.exported.maxDiffSteps).toBeLessThanOrEqual(1);
    expect(v.exported.withinOneStepPct).toBe(100);
    // A 16-unit MLP after two short epochs on 2,000 images: far above chance (10%), not a good model.
    expect(v.exported.runtimeAccuracy).toBeGreaterThan(40);
    expect(Math.abs(v.accuracyDropPp)).toBeLessThan(2);
    // The float32 file in the interpreter is what modelpress computes in float64, to float32 precision.
    expect(v.float32.argmaxAgreementPct).toBe(100);
    expect(v.float32.maxDiffSteps).toBeLessThan(1e-4);
    const card = JSON.parse(await readFile(join(r.outputs.model!, 'model-card.json'), 'utf8'));
    expect(card.tflite.verification).toEqual(v);
  }, 120000);
});
