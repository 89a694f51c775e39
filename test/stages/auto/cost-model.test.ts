/**
 * The size model against the real thing: for several per-layer assignments,
 * the model is compressed by the real prune, share and quantize stages and
 * packed by the real packer; the prediction (made without writing a model)
 * must be within 1% (it is in fact exact: both come from the same packer).
 */
import { join } from 'node:path';
import { packModel } from '../../../src/formats/packed.js';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import { splitWeights } from '../../../src/formats/weight-quantization.js';
import type { Json } from '../../../src/plugin.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { shareStage } from '../../../src/stages/share/share.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { keepSourceStorage, sizeModel, sourceDtypes } from '../../../src/stages/auto/cost-model.js';
import { AssignmentSize, layerRecordBytes } from '../../../src/stages/auto/assignment-size.js';
import { removeUnits } from '../../../src/stages/sensitivity/structured-setting.js';
import type { LayerSetting } from '../../../src/stages/sensitivity/layer-setting.js';
import { createHarness, modelInput } from '../harness.js';
import { saveFunctionalModel } from '../../helpers/functional-model.js';
import type { Harness } from '../harness.js';

const KERNELS = new Map([
  ['dense1', ['dense1/kernel', 'dense1/bias']],
  ['dense2', ['dense2/kernel', 'dense2/bias']],
  ['dense3', ['dense3/kernel', 'dense3/bias']],
]);

describe('size model', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await createHarness();
    dir = join(h.dir, 'mlp');
    // dense1's bias (300) is big enough for the quantize stage's minSize (256).
    await h.engine.saveModel(await h.engine.buildModel({ arch: 'mlp', inputShape: [40], units: [300, 32] }), dir);
  }, 60_000);
  afterAll(() => h.cleanup());

  /** Compresses `dir` through the real stages, each told only about its own layers. */
  async function throughStages(assignment: Record<string, LayerSetting>): Promise<string> {
    const pick = (key: keyof LayerSetting, as: string) => {
      const layers: Record<string, Json> = {};
      for (const [l, s] of Object.entries(assignment)) if (s[key] !== undefined) layers[l] = { [as]: s[key]! };
      return Object.keys(layers).length > 0 ? layers : undefined;
    };
    let ref = await h.artifact(dir);
    const steps: [typeof pruneStage | typeof shareStage | typeof quantizeStage, Record<string, Json> | undefined][] = [
      [pruneStage, pick('sparsity', 'sparsity')],
      [shareStage, pick('bits', 'bits')],
      [quantizeStage, pick('dtype', 'weights')],
    ];
    for (const [stage, layers] of steps) {
      if (!layers) continue;
      const r = await h.run(stage, { layers }, modelInput(ref));
      ref = await h.artifact(r.outputs.model!);
    }
    return ref.dir;
  }

  test.each<[string, Record<string, LayerSetting>]>([
    ['nothing changed', {}],
    ['Deep Compression on one layer', { dense1: { sparsity: 0.9, bits: 4 } }],
    ['a mix of families', { dense1: { sparsity: 0.95, bits: 3 }, dense2: { sparsity: 0.5 }, dense3: { dtype: 'uint8' } }],
    ['sharing only', { dense1: { bits: 2 }, dense2: { bits: 5 } }],
    ['everything, quantized storage', { dense1: { sparsity: 0.8, bits: 4, dtype: 'uint8' }, dense2: { dtype: 'float16' }, dense3: { sparsity: 0.7, dtype: 'uint16' } }],
  ])('%s: predicted packed and raw sizes match the packed model', async (_name, assignment) => {
    const model = sizeModel(await readModelArtifacts(dir), KERNELS);
    const predicted = model.predict(assignment);
    const out = await throughStages(assignment);
    const packed = (await packModel(out)).breakdown.totalBytes;
    const raw = splitWeights(await readModelArtifacts(out)).reduce((n, w) => n + w.bytes.byteLength, 0);
    expect(Math.abs(predicted.packed - packed) / packed).toBeLessThanOrEqual(0.01);
    expect(predicted.packed).toBe(packed);
    expect(predicted.raw).toBe(raw);
  }, 60_000);

  test('a separable convolution: the setting applies to both its kernels, priced together', async () => {
    const { saved } = await saveFunctionalModel(h.engine, join(h.dir, 'functional'));
    const kernels = new Map([
      ['sep', ['sep/depthwise_kernel', 'sep/pointwise_kernel', 'sep/bias']],
      ['predictions', ['predictions/kernel', 'predictions/bias']],
    ]);
    const assignment = { sep: { sparsity: 0.6, dtype: 'uint8' as const }, predictions: { sparsity: 0.8 } };
    const predicted = sizeModel(await readModelArtifacts(saved), kernels).predict(assignment);
    let ref = await h.artifact(saved);
    ref = await h.artifact((await h.run(pruneStage, { layers: { sep: { sparsity: 0.6 }, predictions: { sparsity: 0.8 } } }, modelInput(ref))).outputs.model!);
    ref = await h.artifact((await h.run(quantizeStage, { layers: { sep: { weights: 'uint8' } } }, modelInput(ref))).outputs.model!);
    expect(predicted.packed).toBe((await packModel(ref.dir)).breakdown.totalBytes);
  }, 60_000);

  test('an unknown layer is a caller bug, said plainly', async () => {
    const model = sizeModel(await readModelArtifacts(dir), KERNELS);
    expect(() => model.layerCost('dense9', {})).toThrow('Expected a searched layer (dense1, dense2, dense3) with a kernel in the model, got dense9');
  });

  test('narrowed neighbours: the whole assignment priced exactly; the allocation\'s own-tensor price never below it', async () => {
    // dense1 and dense2 both narrowed (dense2 also loses input rows to dense1) and dense3, whose inputs shrink, pruned and shared.
    const assignment: Record<string, LayerSetting> = { dense1: { structured: 0.5 }, dense2: { structured: 0.5 }, dense3: { sparsity: 0.8, bits: 4 } };
    const unmodified = sizeModel(await readModelArtifacts(dir), KERNELS);
    const exact = new AssignmentSize(h.ctx(), await h.engine.loadModel(dir), unmodified, [...KERNELS.keys()], join(h.dir, 'assignments'), sourceDtypes(await readModelArtifacts(dir)));
    const predicted = await exact.predict(assignment);
    let ref = await h.artifact(dir);
    ref = await h.artifact((await h.run(pruneStage, { method: 'structured', criterion: 'l1', layers: { dense1: { sparsity: 0.5 }, dense2: { sparsity: 0.5 } } }, modelInput(ref))).outputs.model!);
    ref = await h.artifact((await h.run(pruneStage, { layers: { dense3: { sparsity: 0.8 } } }, modelInput(ref))).outputs.model!);
    ref = await h.artifact((await h.run(shareStage, { layers: { dense3: { bits: 4 } } }, modelInput(ref))).outputs.model!);
    expect(predicted).toBe((await packModel(ref.dir)).breakdown.totalBytes);
    // The allocation's price: each narrowed layer saves only its own tensors' bytes (dense2's removed input rows are not counted twice).
    let allocation = unmodified.predict({ dense3: assignment.dense3! }).packed;
    for (const layer of ['dense1', 'dense2']) {
      const alone = join(h.dir, `alone-${layer}`);
      await h.engine.saveModel(await removeUnits(h.ctx(), await h.engine.loadModel(dir), { [layer]: 0.5 }), alone);
      allocation -= layerRecordBytes(await readModelArtifacts(dir), layer) - layerRecordBytes(await readModelArtifacts(alone), layer);
    }
    expect(allocation).toBeGreaterThanOrEqual(predicted);
    // A per-tensor assignment is the size model's own prediction.
    expect(await exact.predict({ dense1: { sparsity: 0.9 } })).toBe(unmodified.predict({ dense1: { sparsity: 0.9 } }).packed);
  }, 60_000);

  test('a model brought as uint8: a narrowed assignment is priced as stored in uint8 again, and so is the own-tensor price of a narrowed layer', async () => {
    const q = (await h.run(quantizeStage, { weights: 'uint8', minSize: 1 }, modelInput(await h.artifact(dir)))).outputs.model!;
    const artifacts = await readModelArtifacts(q);
    const source = sourceDtypes(artifacts);
    const exact = new AssignmentSize(h.ctx(), await h.engine.loadModel(q), sizeModel(artifacts, KERNELS), [...KERNELS.keys()], join(h.dir, 'assignments-uint8'), source);
    // What the stages give: narrow dense1, then store everything uint8 again.
    let ref = await h.artifact(q);
    ref = await h.artifact((await h.run(pruneStage, { method: 'structured', criterion: 'l1', layers: { dense1: { sparsity: 0.5 } } }, modelInput(ref))).outputs.model!);
    ref = await h.artifact((await h.run(quantizeStage, { weights: 'uint8', minSize: 1 }, modelInput(ref))).outputs.model!);
    expect(await exact.predict({ dense1: { structured: 0.5 } })).toBe((await packModel(ref.dir)).breakdown.totalBytes);
    // The allocation's own-tensor price compares the uint8 original with the narrowed layer stored as the stages
    // store it (keepSourceStorage), not as re-saved in float32 (a codebook of the dequantized values, another size).
    const alone = join(h.dir, 'alone-uint8');
    await h.engine.saveModel(await removeUnits(h.ctx(), await h.engine.loadModel(q), { dense1: 0.5 }), alone);
    const asStages = layerRecordBytes(await readModelArtifacts(ref.dir), 'dense1');
    expect(layerRecordBytes(keepSourceStorage(await readModelArtifacts(alone), source), 'dense1')).toBe(asStages);
    expect(layerRecordBytes(await readModelArtifacts(alone), 'dense1')).not.toBe(asStages);
    expect(asStages).toBeLessThan(0.55 * layerRecordBytes(artifacts, 'dense1'));
  }, 60_000);
});
