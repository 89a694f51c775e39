/**
 * The prune stage's unstructured methods on a real trained MLP (784-300-100-10,
 * 2 epochs on 2,000 MNIST images): exact per-layer sparsity counted in the
 * saved shard bytes, global scope, Han's threshold, masks that survive Adam,
 * the AGP schedule, determinism, and located config errors.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json, StageResult } from '../../../src/plugin.js';
import { StageConfigError } from '../../../src/plugin.js';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput, SMALL_MNIST } from '../harness.js';
import type { Harness } from '../harness.js';

interface SavedWeights {
  /** Values by manifest name. */
  values: Map<string, Float32Array>;
  /** Raw 32-bit words by manifest name (to tell +0 from -0). */
  words: Map<string, Uint32Array>;
  shardBytes: Buffer;
  modelJson: string;
}

/** Reads the saved shard bytes themselves: the artifact, not a model reloaded through tfjs. */
async function readSaved(dir: string): Promise<SavedWeights> {
  const modelJson = await readFile(join(dir, 'model.json'), 'utf8');
  const manifest = JSON.parse(modelJson).weightsManifest as { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  expect(manifest).toHaveLength(1);
  const shardBytes = Buffer.concat(await Promise.all(manifest[0]!.paths.map((p) => readFile(join(dir, p)))));
  const buf = new Uint8Array(shardBytes).buffer;
  const values = new Map<string, Float32Array>();
  const words = new Map<string, Uint32Array>();
  let at = 0;
  for (const w of manifest[0]!.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    values.set(w.name, new Float32Array(buf, at, n));
    words.set(w.name, new Uint32Array(buf, at, n));
    at += n * 4;
  }
  expect(at).toBe(shardBytes.byteLength);
  return { values, words, shardBytes, modelJson };
}

const zeros = (v: Float32Array) => v.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);
const negZeros = (w: Uint32Array) => w.reduce((n, x) => n + (x === 0x80000000 ? 1 : 0), 0);
const KERNELS = ['dense1/kernel', 'dense2/kernel', 'dense3/kernel'];

describe('prune: magnitude and threshold', () => {
  let h: Harness;
  let trained: string;
  let input: SavedWeights;
  const run = async (config: Record<string, Json>): Promise<{ r: StageResult; saved: SavedWeights; meta: any }> => {
    const r = await h.run(pruneStage, config, modelInput(await h.artifact(trained)));
    const dir = r.outputs.model!;
    return { r, saved: await readSaved(dir), meta: JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) };
  };

  beforeAll(async () => {
    // `ft`: a 512-image slice, so fine-tuning runs take 8 steps per epoch.
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300, 100] } }, data: { ...SMALL_MNIST, ft: { uses: 'mnist', split: 'train', limit: 512, flatten: true } } });
    const t = await h.run(trainStage, { data: 'train', epochs: 2, learningRate: 0.002 });
    trained = t.outputs.model!;
    input = await readSaved(trained);
  });
  afterAll(() => h.cleanup());

  test('scope: layer zeroes exactly round(s·n) per kernel, the smallest |w|, as +0; the rest is untouched', async () => {
    const { r, saved, meta } = await run({ sparsity: 0.8, layers: { 'dense*': {}, dense3: { sparsity: 0.5 } }, eval: 'test' });
    const targets: Record<string, number> = { 'dense1/kernel': 0.8, 'dense2/kernel': 0.8, 'dense3/kernel': 0.5 };
    for (const [name, s] of Object.entries(targets)) {
      const out = saved.values.get(name)!;
      const src = input.values.get(name)!;
      expect(zeros(out)).toBe(Math.round(s * out.length));
      expect(negZeros(saved.words.get(name)!)).toBe(0);
      let maxPruned = 0;
      let minKept = Infinity;
      let changed = 0;
      for (let i = 0; i < out.length; i++) {
        if (out[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(src[i]!));
        else {
          if (out[i] !== src[i]) changed++;
          minKept = Math.min(minKept, Math.abs(src[i]!));
        }
      }
      expect(changed).toBe(0);
      expect(maxPruned).toBeLessThanOrEqual(minKept);
      const layer = name.split('/')[0]!;
      expect(meta.metrics.layers[layer]).toEqual({ weights: out.length, zeros: Math.round(s * out.length), sparsity: Math.round((Math.round(s * out.length) / out.length) * 1e6) / 1e6, target: s });
    }
    for (const b of ['dense1/bias', 'dense2/bias', 'dense3/bias']) expect(Array.from(saved.values.get(b)!)).toEqual(Array.from(input.values.get(b)!));
    // Whole-model numbers and the accuracy cost, without an evaluate stage.
    const m = r.metrics!;
    expect(m.paramsBefore).toBe(784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
    expect(m.paramsAfter).toBe(m.paramsBefore);
    expect(m.prunedWeights).toBe(784 * 300 + 300 * 100 + 100 * 10);
    expect(m.zeros).toBe(Math.round(0.8 * 235200) + Math.round(0.8 * 30000) + 500);
    expect((m.nonzeroParamsBefore as number) - (m.nonzeroParamsAfter as number)).toBe(m.zeros);
    expect(m.accuracyBefore).toBeGreaterThan(80);
    expect(typeof m.accuracy).toBe('number');
    expect(typeof m.pruneMs).toBe('number');
    expect(meta.metrics.pruneMs).toBeUndefined();
    expect(meta.metrics.accuracy).toBe(m.accuracy);
    // Stock tfjs loads it and predicts.
    const tf = await h.engine.tf();
    const json = JSON.parse(saved.modelJson);
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(saved.shardBytes).buffer }));
    const p = model.predict(tf.zeros([2, 784])) as import('@tensorflow/tfjs').Tensor;
    expect(p.shape).toEqual([2, 10]);
    const sums = (await p.sum(1).data()) as Float32Array;
    for (const s of sums) expect(s).toBeCloseTo(1, 4);
  });

  test('scope: global ranks all targeted weights together', async () => {
    const { r, saved } = await run({ sparsity: 0.9, scope: 'global' });
    const all = KERNELS.map((k) => saved.values.get(k)!);
    const total = all.reduce((n, v) => n + v.length, 0);
    expect(all.reduce((n, v) => n + zeros(v), 0)).toBe(Math.round(0.9 * total));
    let maxPruned = 0;
    let minKept = Infinity;
    KERNELS.forEach((k, j) => {
      const src = input.values.get(k)!;
      all[j]!.forEach((x, i) => {
        if (x === 0) maxPruned = Math.max(maxPruned, Math.abs(src[i]!));
        else minKept = Math.min(minKept, Math.abs(src[i]!));
      });
    });
    expect(maxPruned).toBeLessThanOrEqual(minKept);
    const layers = r.metrics!.layers as Record<string, { sparsity: number }>;
    // One threshold: the wide first layer (small weights) loses more than the output layer.
    expect(layers.dense1!.sparsity).toBeGreaterThan(layers.dense3!.sparsity);
    expect(r.metrics!.sparsity).toBeCloseTo(0.9, 5);
  });

  test('method: threshold zeroes |w| < quality · std(w) per layer', async () => {
    const { r, saved } = await run({ method: 'threshold', quality: 0.7, layers: { 'dense*': {}, dense3: { quality: 1.5 } } });
    for (const [k, q] of [['dense1/kernel', 0.7], ['dense2/kernel', 0.7], ['dense3/kernel', 1.5]] as const) {
      const src = input.values.get(k)!;
      const mean = src.reduce((a, b) => a + b, 0) / src.length;
      const std = Math.sqrt(src.reduce((a, b) => a + (b - mean) ** 2, 0) / src.length);
      const out = saved.values.get(k)!;
      let wrong = 0;
      let pruned = 0;
      for (let i = 0; i < src.length; i++) {
        if ((out[i] === 0) !== Math.abs(src[i]!) < q * std) wrong++;
        if (out[i] === 0) pruned++;
      }
      expect(wrong).toBe(0);
      expect(pruned).toBeGreaterThan(0.3 * src.length);
      expect((r.metrics!.layers as any)[k.split('/')[0]!].threshold).toBeCloseTo(q * std, 5);
    }
  });

  test('fine-tuning with Adam keeps pruned weights exactly 0 and the mask unchanged', async () => {
    const oneShot = await run({ sparsity: 0.9, eval: 'test' });
    const { r, saved } = await run({ sparsity: 0.9, finetune: { data: 'ft', epochs: 1, optimizer: 'adam', learningRate: 0.001 }, eval: 'test' });
    for (const k of KERNELS) {
      const a = oneShot.saved.values.get(k)!;
      const b = saved.values.get(k)!;
      expect(zeros(b)).toBe(Math.round(0.9 * b.length));
      expect(negZeros(saved.words.get(k)!)).toBe(0);
      let moved = 0;
      let maskChanged = 0;
      for (let i = 0; i < a.length; i++) {
        if ((b[i] === 0) !== (a[i] === 0)) maskChanged++;
        if (a[i] !== b[i]) moved++;
      }
      expect(maskChanged).toBe(0);
      expect(moved).toBeGreaterThan(0.05 * a.length); // it did train
    }
    expect((r.metrics!.finetune as any).steps).toBe(512 / 64);
    expect(r.metrics!.accuracy).toBeGreaterThan(oneShot.r.metrics!.accuracy as number);
  });

  test('AGP schedule: sparsity rises along the cubic, ends exact; same seed, same bytes', async () => {
    const config = { sparsity: 0.9, schedule: { kind: 'polynomial', epochs: 2, frequency: 4, initialSparsity: 0.2 }, finetune: { data: 'ft' } };
    const a = await run(config);
    const b = await run(config);
    // Fine-tuning ran schedule.epochs (finetune.epochs was 0); 8 steps per epoch.
    const sched = a.r.metrics!.schedule as any;
    expect(sched.rampSteps).toBe(16);
    expect((a.r.metrics!.finetune as any).epochs).toBe(2);
    // After epoch 1 (t = 8, an update step): s = 0.9 + (0.2 - 0.9)(1 - 8/16)^3.
    expect(sched.sparsityAfterEpoch[0].sparsity).toBeCloseTo(0.9 - 0.7 * 0.125, 4);
    expect(sched.sparsityAfterEpoch[1].sparsity).toBeCloseTo(0.9, 4);
    for (const k of KERNELS) expect(zeros(a.saved.values.get(k)!)).toBe(Math.round(0.9 * a.saved.values.get(k)!.length));
    expect(b.saved.shardBytes.equals(a.saved.shardBytes)).toBe(true);
    expect(b.meta).toEqual(a.meta);
  });

  test('conv kernels too (LeNet-5), with `exclude`', async () => {
    const lenet = await h.engine.buildModel({ arch: 'lenet5' });
    const dir = join(h.dir, 'lenet5');
    await h.engine.saveModel(lenet, dir);
    const r = await h.run(pruneStage, { sparsity: 0.75, exclude: ['dense2'] }, modelInput(await h.artifact(dir)));
    const saved = await readSaved(r.outputs.model!);
    for (const k of ['conv1/kernel', 'conv2/kernel', 'dense1/kernel']) {
      const v = saved.values.get(k)!;
      expect(zeros(v)).toBe(Math.round(0.75 * v.length));
      expect(negZeros(saved.words.get(k)!)).toBe(0);
    }
    expect(zeros(saved.values.get('dense2/kernel')!)).toBe(0);
    expect(Object.keys(r.metrics!.layers as object)).toEqual(['conv1', 'conv2', 'dense1']);
  });

  test.each<[string, Record<string, Json>, string, (string | number)[]]>([
    ['a pattern matching no layer', { layers: { dense_3: { sparsity: 0.7 } } }, 'pattern `dense_3` matches no layer of the model', ['layers', 'dense_3']],
    ['an exclude matching no layer', { exclude: ['conv*'] }, 'pattern `conv*` matches no layer of the model', ['exclude', 0]],
    ['global scope with a per-layer sparsity', { scope: 'global', layers: { 'dense*': {}, dense3: { sparsity: 0.5 } } }, '`scope: global` prunes all targeted layers to one sparsity; a per-layer `sparsity` (layer `dense3`) needs `scope: layer`', ['layers', 'dense3', 'sparsity']],
    ['global scope with the threshold method', { method: 'threshold', scope: 'global' }, '`scope: global` applies to `method: magnitude`; the threshold method is per layer (quality · std of each layer)', ['scope']],
    ['a ramp longer than fine-tuning', { schedule: { epochs: 3 }, finetune: { epochs: 2 } }, '`schedule.epochs` (3) exceeds `finetune.epochs` (2): the sparsity ramp must end within fine-tuning', ['schedule', 'epochs']],
    ['excluding every layer', { exclude: ['dense*'] }, 'no layer left to prune: `exclude` leaves none of the layers with a kernel (Dense, Conv1D/2D, Embedding, SimpleRNN/LSTM/GRU, ...)', ['exclude']],
  ])('%s is a located StageConfigError', async (_, config, message, path) => {
    const err = await run(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe(message);
    expect((err as StageConfigError).path).toEqual(path);
  });

  test('without an upstream model it says what it needs', async () => {
    await expect(h.run(pruneStage, {})).rejects.toThrow('prune needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (e.g. train) in its `needs`');
  });
});
