/**
 * Browser vs Node outputs of the same artifact (a small trained MLP, stored
 * float32, uint8 and float16), loaded in Chromium both by stock tfjs
 * (model.json, which dequantizes) and by the modelpress/loader bundle
 * (the packed container), on the wasm and cpu backends of the page.
 */
import { readModelArtifacts } from '../../src/engine/model-io.js';
import { packArtifacts } from '../../src/formats/packed.js';
import { compareOutputs, PARITY_TOLERANCE, toleranceFor } from '../../src/browser/parity.js';
import type { HostTensor } from '../../src/browser/parity.js';
import { BrowserSession } from '../../src/browser/session.js';
import type { ArtifactRef } from '../../src/plugin.js';
import { nodeOutputs, parityBatch } from '../../src/stages/evaluate/evaluate-browser.js';
import type { ParityBatch } from '../../src/stages/evaluate/evaluate-browser.js';
import { quantizeStage } from '../../src/stages/quantize/quantize.js';
import { describeWithBrowser } from '../helpers/browser.js';
import { createHarness, modelInput } from '../stages/harness.js';
import type { Harness } from '../stages/harness.js';
import { trainSmallMlp } from '../stages/evaluate/evaluate-helpers.js';

describeWithBrowser('browser parity', () => {
  let h: Harness;
  let session: BrowserSession;
  let batch: ParityBatch;
  const models: Record<string, ArtifactRef> = {};
  const reference: Record<string, HostTensor[]> = {};

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    models.float32 = await trainSmallMlp(h);
    for (const weights of ['uint8', 'float16'] as const) {
      const r = await h.run(quantizeStage, { weights, minSize: 0 }, modelInput(models.float32));
      models[weights] = await h.artifact(r.outputs.model!);
    }
    batch = parityBatch(await h.ctx().data('test'));
    const tf = await h.engine.tf();
    for (const [name, ref] of Object.entries(models)) {
      const m = await h.engine.loadModel(ref.dir);
      reference[name] = nodeOutputs(tf, m, batch);
      m.dispose();
    }
    session = await BrowserSession.open();
  }, 120000);
  afterAll(async () => {
    await session?.close();
    await h?.cleanup();
  });

  test.each([
    ['float32', 'wasm'],
    ['uint8', 'wasm'],
    ['float16', 'wasm'],
    ['float32', 'cpu'],
    ['uint8', 'cpu'],
  ] as const)('%s artifact on %s: stock tfjs and packed match Node within the tolerance', async (name, backend) => {
    const ref = models[name]!;
    const packed = packArtifacts(await readModelArtifacts(ref.dir)).bytes;
    const served = await session.serveModel(ref.dir, packed);
    const page = await session.page(backend, 1);
    try {
      const tolerance = toleranceFor(backend, reference[name]!);
      expect(tolerance).toBe(PARITY_TOLERANCE[backend]); // softmax outputs: scale 1
      const results: Record<string, ReturnType<typeof compareOutputs>> = {};
      for (const [kind, url] of [['tfjs', served.tfjsUrl], ['packed', served.packedUrl!]] as const) {
        await page.call('load', `${served.id}-${kind}`, { kind, url });
        const out = await page.call('predict', `${served.id}-${kind}`, batch.inputs);
        expect(out[0]!.shape).toEqual([32, 10]);
        results[kind] = compareOutputs(reference[name]!, out, batch.examples, tolerance);
        await page.call('dispose', `${served.id}-${kind}`);
      }
      console.log(`parity ${name} ${backend}: ${JSON.stringify(results)}`);
      for (const r of Object.values(results)) {
        expect(r.argmaxMatches).toBe(32);
        expect(r.maxAbsDiff).toBeLessThanOrEqual(tolerance);
        expect(r.ok).toBe(true);
      }
    } finally {
      served.release();
    }
  }, 60000);

  test('a different artifact is caught: uint8 outputs against float32 Node outputs miss the tolerance', async () => {
    const served = await session.serveModel(models.uint8!.dir);
    const page = await session.page('wasm', 1);
    try {
      await page.call('load', 'wrong', { kind: 'tfjs', url: served.tfjsUrl });
      const out = await page.call('predict', 'wrong', batch.inputs);
      const r = compareOutputs(reference.float32!, out, batch.examples, PARITY_TOLERANCE.wasm);
      expect(r.maxAbsDiff).toBeGreaterThan(PARITY_TOLERANCE.wasm);
      expect(r.ok).toBe(false);
      await page.call('dispose', 'wrong');
    } finally {
      served.release();
    }
  }, 60000);
});
