/**
 * evaluate without labels: an images folder read with `labels: none`, a
 * reference MLP and a uint8-quantized copy of it. The agreement evaluate
 * reports must equal an independent computation from the two models' outputs
 * (tfjs ops here, not the streaming accumulator), accuracy must be absent,
 * and an `agreement_min` the candidate misses must fail the run like any
 * missed budget (exit code 3).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { exitCodeFor } from '../../../src/cli/commands/run.js';
import { decodeEvaluation } from '../../../src/contracts/evaluation.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { evaluateStage } from '../../../src/stages/evaluate/evaluate.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { fakeNode, fakeRunRecord } from '../../helpers/run-record.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { inputsOf, runWithDevices, upstream } from './evaluate-helpers.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/images');
const NO_LATENCY = { measure: 'never' } as const;

describe('evaluate on unlabelled data', () => {
  let h: Harness;
  let reference: ArtifactRef;
  let quantized: ArtifactRef;
  // Independent values from the two models' outputs.
  let top1: number;
  let meanKl: number;
  let maxAbsDiff: number;

  beforeAll(async () => {
    h = await createHarness({
      model: { build: { arch: 'mlp', units: [16], inputShape: [28, 28, 1] } },
      data: {
        train: { uses: 'mnist', split: 'train', limit: 500 },
        // The six labelled fixture images, read as if they had no labels.
        photos: { uses: 'images', path: join(FIXTURES, 'folders'), labels: 'none', size: [28, 28], channels: 1 },
      },
    });
    const trained = await h.run(trainStage, { data: 'train', epochs: 1, batchSize: 64 });
    reference = await h.artifact(trained.outputs.model!);
    const q = await h.run(quantizeStage, { weights: 'uint8' }, { upstream: [upstream('train', 'train', reference)], model: reference });
    quantized = await h.artifact(q.outputs.model!);

    const tf = await h.engine.tf();
    const ds = await h.ctx().data('photos');
    expect(ds.labelled).toBe(false);
    const [r, c] = [await h.engine.loadModel(reference.dir), await h.engine.loadModel(quantized.dir)];
    const [a, k, m] = tf.tidy(() => {
      const xs = tf.tensor(ds.x, [ds.count, ...ds.shape]);
      const p = r.predict(xs) as tfTypes.Tensor;
      const q2 = c.predict(xs) as tfTypes.Tensor;
      const agree = tf.equal(tf.argMax(p, -1), tf.argMax(q2, -1)).cast('float32').mean();
      const eps = 1e-7;
      // p · ln(max(p, ε) / max(q, ε)), 0 where p = 0.
      const kl = tf.where(tf.greater(p, 0), tf.mul(p, tf.sub(tf.log(tf.maximum(p, eps)), tf.log(tf.maximum(q2, eps)))), tf.zerosLike(p)).sum(-1).mean();
      return [agree, kl, tf.abs(tf.sub(p, q2)).max()];
    });
    top1 = 100 * (await a.data())[0]!;
    meanKl = (await k.data())[0]!;
    maxAbsDiff = (await m.data())[0]!;
    tf.dispose([a, k, m]);
    r.dispose();
    c.dispose();
  }, 120000);
  afterAll(() => h.cleanup());

  test('agreement equals an independent computation; accuracy is absent, not 0; agreement_min judged; a miss exits 3', async () => {
    const devices: Record<string, Json> = {
      loose: { runtime: 'wasm', budget: { agreement_min: top1 - 1, accuracy_min: 90 } },
      // Just above what the candidate reaches: a miss by 0.01 pp.
      strict: { runtime: 'wasm', budget: { agreement_min: top1 + 0.01 } },
    };
    const r = await runWithDevices(
      h,
      evaluateStage,
      { data: 'photos', reference: 'train', latency: NO_LATENCY },
      inputsOf(upstream('train', 'train', reference), upstream('quantize', 'quantize', quantized)),
      devices,
    );
    const decoded = decodeEvaluation(r.metrics!);
    if (!decoded.ok) throw new Error(decoded.error);
    const e = decoded.value;
    expect(e).toMatchObject({ data: 'photos', examples: 6, labelled: false, reference: 'train' });
    expect(e.referenceAccuracy).toBeUndefined();
    const [ref, cand] = e.candidates;
    expect(ref!.agreement).toEqual({ top1: 100, k: 5, topKOverlap: 100, meanKl: 0, maxAbsDiff: 0 });
    expect(cand!.accuracy).toBeUndefined();
    expect(cand!.accuracyDropPp).toBeUndefined();
    expect('accuracy' in (r.metrics!.candidates as Record<string, Record<string, Json>>)['quantize']!).toBe(false);
    expect(cand!.agreement!.top1).toBeCloseTo(top1, 10);
    expect(cand!.agreement!.meanKl).toBeCloseTo(meanKl, 6);
    expect(cand!.agreement!.maxAbsDiff).toBeCloseTo(maxAbsDiff, 6);
    // A uint8 copy changes the outputs a little, not nothing.
    expect(cand!.agreement!.maxAbsDiff).toBeGreaterThan(0);

    expect(cand!.devices.loose).toMatchObject({ ok: true, missed: [], unmeasured: ['accuracy_min'] });
    expect(cand!.devices.loose!.verdicts[0]).toMatchObject({ limit: 'accuracy_min', measured: null, ok: null, margin: 'no labels: judged by agreement' });
    expect(cand!.devices.strict).toMatchObject({ ok: false, missed: ['agreement_min'] });
    expect(cand!.devices.strict!.verdicts[0]!.margin).toBe('0.01 pp short');
    expect(e.budgets.met).toBe(false);
    expect(exitCodeFor(fakeRunRecord('r', [fakeNode('eval', 'evaluate', r.metrics!)]))).toBe(3);

    const md = await readFile(join(r.outputs.report!, 'report.md'), 'utf8');
    expect(md).toContain('**No labels: judged by agreement.** `photos` (6 examples) has no labels, so there is no accuracy; every candidate is compared with the outputs of `train`.');
    expect(md).toContain('| candidate | role | agreement | top-5 overlap | mean KL | max abs diff |');
  }, 60000);
});
