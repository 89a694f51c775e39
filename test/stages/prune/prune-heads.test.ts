/**
 * Structured pruning of attention heads (issue 21) on the transformer
 * builder's model, on MNIST read as 8 rows of 8 pixels.
 *
 * Correctness by equivalence: the model without head h must compute what the
 * original computes with head h's output projection (kernel and bias) set to
 * zero, after a save and a load in stock tfjs. Weights are randomised (biases
 * too), so a dropped bias would show.
 */
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { Json } from '../../../src/plugin.js';
import { StageConfigError } from '../../../src/plugin.js';
import { headLayerName } from '../../../src/engine/attention.js';
import { buildModel } from '../../../src/engine/builders.js';
import { countMacs } from '../../../src/measure/macs.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { randomize, stockLoad } from '../../helpers/functional-model.js';

const T = 8;
const D = 8;
const HEADS = 4;
const KEY = D / HEADS;
/** One head's MACs per example: q, k, v (T·D·KEY each), scores and context (T·T·KEY each), output (T·KEY·D). */
const HEAD_MACS = 3 * T * D * KEY + 2 * T * T * KEY + T * KEY * D;

describe('prune: structured, attention heads', () => {
  let h: Harness;
  let model: LayersModel;
  let dir: string;
  const run = async (config: Record<string, Json>, from = dir) => {
    const r = await h.run(pruneStage, { method: 'structured', ...config }, modelInput(await h.artifact(from)));
    const tf = await h.engine.tf();
    return { r, pruned: await stockLoad(tf, r.outputs.model!), m: r.metrics as Record<string, any> };
  };
  /** `model` with the given heads' output projections zeroed (a fresh copy). */
  const zeroed = async (heads: [number, number][]) => {
    const tf = await h.engine.tf();
    const copy = await stockLoad(tf, dir);
    for (const [b, hd] of heads) {
      const layer = copy.getLayer(headLayerName(b, hd, 'output'));
      layer.setWeights(layer.getWeights().map((w) => tf.zerosLike(w)));
    }
    return copy;
  };
  const maxDiff = async (a: LayersModel, b: LayersModel) => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('seq');
    const x = tf.tensor(ds.x.subarray(0, 64 * T * T), [64, T, T]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a.predict(x) as Tensor, b.predict(x) as Tensor))));
    const v = (await d.data())[0]!;
    tf.dispose([x, d]);
    return v;
  };
  /** The `count` heads of `block` with the lowest L1 norm of value + output kernels, ascending by head number. */
  const lowestL1 = async (block: number, count: number) => {
    const norm = async (hd: number) => {
      let s = 0;
      for (const role of ['value', 'output'] as const) for (const v of await model.getLayer(headLayerName(block, hd, role)).getWeights()[0]!.data()) s += Math.abs(v);
      return s;
    };
    const scored = await Promise.all([1, 2, 3, 4].map(async (hd) => [hd, await norm(hd)] as const));
    return scored.sort((a, b) => a[1] - b[1]).slice(0, count).map(([hd]) => hd).sort((a, b) => a - b);
  };

  beforeAll(async () => {
    h = await createHarness({ data: { seq: { uses: 'mnist', split: 'train', limit: 256, layout: 'sequence', size: [T, T] } } });
    const tf = await h.engine.tf();
    model = buildModel(tf, { arch: 'transformer', inputShape: [T, T], dimensions: D, blocks: 2, heads: HEADS, feedForward: 16 }, 5);
    randomize(tf, model, 11);
    dir = `${h.dir}/transformer`;
    await h.engine.saveModel(model, dir);
  });
  afterAll(() => h.cleanup());

  test('half the heads go: their layers and Add inputs are gone, the rest computes exactly as with those heads zeroed', async () => {
    const { pruned, m } = await run({ heads: 0.5 });
    const removed1 = await lowestL1(1, 2);
    const removed2 = await lowestL1(2, 2);
    expect(m.heads).toEqual({
      block1: { headsBefore: 4, headsAfter: 2, removed: removed1 },
      block2: { headsBefore: 4, headsAfter: 2, removed: removed2 },
    });
    const names = new Set(pruned.layers.map((l) => l.name));
    for (const [b, gone] of [[1, removed1], [2, removed2]] as const) {
      for (let hd = 1; hd <= HEADS; hd++) expect([b, hd, names.has(headLayerName(b, hd, 'query'))]).toEqual([b, hd, !gone.includes(hd)]);
      const add = pruned.getLayer(`block${b}_attention`);
      expect((add.input as unknown[]).length).toBe(2);
    }
    // Every other layer keeps its shape: only the heads' parameters are gone.
    const perHead = 3 * (D * KEY) + 2 * KEY + KEY * D + D; // q, v with bias, k without; output with bias
    expect(m.paramsBefore - m.paramsAfter).toBe(4 * perHead);
    expect(pruned.countParams()).toBe(m.paramsAfter);
    // MACs: the measure module's count, which includes the heads' Dot layers.
    expect(m.macsBefore).toBe(countMacs(model.toJSON(null, false)).macs);
    expect(m.macsBefore - m.macsAfter).toBe(4 * HEAD_MACS);
    const reference = await zeroed([...removed1.map((hd) => [1, hd] as [number, number]), ...removed2.map((hd) => [2, hd] as [number, number])]);
    expect(await maxDiff(pruned, reference)).toBeLessThan(1e-5);
    // And the heads mattered: the original differs.
    expect(await maxDiff(model, reference)).toBeGreaterThan(1e-3);
  });

  test('one head left: the Add disappears and that head feeds the residual Add directly', async () => {
    const { pruned, m } = await run({ heads: 0.75, criterion: 'l2' });
    expect(m.heads.block1).toMatchObject({ headsBefore: 4, headsAfter: 1 });
    const names = pruned.layers.map((l) => l.name);
    expect(names).not.toContain('block1_attention');
    expect(names).not.toContain('block2_attention');
    const zeros: [number, number][] = [];
    for (const b of [1, 2]) {
      const removed = m.heads[`block${b}`].removed as number[];
      const kept = [1, 2, 3, 4].filter((hd) => !removed.includes(hd));
      expect(kept).toHaveLength(1);
      const inbound = (pruned.getLayer(`block${b}_add1`).inboundNodes[0]!.inboundLayers).map((l) => l.name);
      expect(inbound).toContain(headLayerName(b, kept[0]!, 'output'));
      for (const hd of removed) zeros.push([b, hd]);
    }
    expect(await maxDiff(pruned, await zeroed(zeros))).toBeLessThan(1e-5);
  });

  test('heads by mean |output| on calibration data, then feed-forward units, then one fine-tuning epoch on wasm', async () => {
    const tf = await h.engine.tf();
    const { r, pruned, m } = await run({
      heads: 0.5,
      criterion: 'activation',
      calibration: { data: 'seq', samples: 256 },
      sparsity: 0.25,
      layers: { 'block*_ffn1': {} },
      finetune: { data: 'seq', epochs: 1, batchSize: 32, learningRate: 0.001 },
    });
    // The two heads per block with the lowest mean |output| over all 256 examples, computed here directly.
    const ds = await h.ctx().data('seq');
    const outputs = [1, 2].flatMap((b) => [1, 2, 3, 4].map((hd) => model.getLayer(headLayerName(b, hd, 'output')).output as SymbolicTensor));
    const probe = tf.model({ inputs: model.inputs, outputs });
    const x = tf.tensor(ds.x, [ds.count, T, T]);
    const means = (probe.predict(x) as Tensor[]).map((o) => tf.tidy(() => tf.mean(tf.abs(o)).dataSync()[0]!));
    x.dispose();
    for (const b of [1, 2]) {
      const scored = [1, 2, 3, 4].map((hd) => [hd, means[(b - 1) * 4 + hd - 1]!] as const);
      const lowest = scored.sort((p, q) => p[1] - q[1]).slice(0, 2).map(([hd]) => hd).sort((p, q) => p - q);
      expect(m.heads[`block${b}`]).toEqual({ headsBefore: 4, headsAfter: 2, removed: lowest });
    }
    expect(m.layers.block1_ffn1).toMatchObject({ unitsBefore: 16, unitsAfter: 12 });
    expect(pruned.getLayer('block1_ffn2').getWeights()[0]!.shape).toEqual([12, D]);
    expect(m.finetune).toMatchObject({ epochs: 1, steps: 256 / 32 });
    for (const loss of m.finetune.losses) expect(Number.isFinite(loss)).toBe(true);
    // Fine-tuning moved the kept heads' weights.
    const kept = [1, 2, 3, 4].find((hd) => !(m.heads.block1.removed as number[]).includes(hd))!;
    const before = await model.getLayer(headLayerName(1, kept, 'value')).getWeights()[0]!.data();
    const after = await pruned.getLayer(headLayerName(1, kept, 'value')).getWeights()[0]!.data();
    expect(Array.from(after)).not.toEqual(Array.from(before));
    expect(r.outputs.model).toBeDefined();
    expect(tf.getBackend()).toBe('wasm');
  });

  test.each<[string, Record<string, Json>, string, (string | number)[]]>([
    ['removing every head of a block', { heads: 1 }, 'heads: 1 would remove all 4 attention heads of block 1; at least one head per block must stay', ['heads']],
    ['heads without method structured', { method: 'magnitude', heads: 0.5 }, '`heads` removes whole attention heads, which only `method: structured` does (got `method: magnitude`)', ['heads']],
  ])('refused: %s', async (_, config, message, path) => {
    const err = await run(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe(message);
    expect((err as StageConfigError).path).toEqual(path);
  });

  test('refused, with the limit in the hint: the fraction that would empty a block', async () => {
    const all = await run({ heads: 0.9 }).catch((e: unknown) => e);
    expect((all as StageConfigError).hints).toEqual(['at most 3 of 4 can go: use heads < 0.875']);
    // 0.87 rounds to 3 of 4: allowed.
    expect((await run({ heads: 0.87 })).m.heads.block1).toMatchObject({ headsAfter: 1 });
    const tf = await h.engine.tf();
    const single = buildModel(tf, { arch: 'transformer', inputShape: [T, T], dimensions: D, blocks: 1, heads: 1, feedForward: 16 }, 5);
    const singleDir = `${h.dir}/single-head`;
    await h.engine.saveModel(single, singleDir);
    const err = await run({ heads: 0.5 }, singleDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe('heads: 0.5 would remove all 1 attention head of block 1; at least one head per block must stay');
    expect((err as StageConfigError).hints).toEqual(['block 1 has a single head, so no head can go: drop `heads:`']);
    // Below one half nothing is removed from a single head, and the model is unchanged.
    const kept = await run({ heads: 0.4 }, singleDir);
    expect(kept.m.heads.block1).toEqual({ headsBefore: 1, headsAfter: 1, removed: [] });
    expect(kept.m.paramsAfter).toBe(kept.m.paramsBefore);
  });

  test('refused: heads on a model without attention', async () => {
    const tf = await h.engine.tf();
    const mlp = buildModel(tf, { arch: 'mlp', inputShape: [16], units: [8] }, 1);
    const mlpDir = `${h.dir}/mlp`;
    await h.engine.saveModel(mlp, mlpDir);
    const err = await run({ heads: 0.5 }, mlpDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toMatch(/^`heads:` removes attention heads, but the model has none/);
    expect((err as StageConfigError).path).toEqual(['heads']);
  });
});
