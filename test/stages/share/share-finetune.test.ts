/**
 * The share stage's centroid fine-tuning and kernel tying on small real
 * models: fine-tuning keeps at most `clusters` values per kernel (counted in
 * the saved shard), keeps pruned zeros (also in layers not shared), lowers
 * the loss compared with no fine-tuning, and is deterministic; tied kernels
 * come out byte-identical.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageConfigError } from '../../../src/plugin.js';
import type { Json } from '../../../src/plugin.js';
import { shareStage } from '../../../src/stages/share/share.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { weightsOf } from '../../helpers/model-weights.js';


function distinctNonZeroBits(a: Float32Array): Set<number> {
  const s = new Set<number>();
  for (const x of new Uint32Array(a.buffer, a.byteOffset, a.length)) if (x !== 0) s.add(x);
  return s;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const KERNELS = ['dense1/kernel', 'dense2/kernel', 'dense3/kernel'];

describe('share stage: centroid fine-tuning', () => {
  let h: Harness;
  let trained: string;
  let pruned: string;
  const run = async (config: Record<string, Json>, dir = trained) => h.run(shareStage, config, modelInput(await h.artifact(dir)));

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300, 100] } } });
    trained = (await h.run(trainStage, { data: 'train', epochs: 2, learningRate: 0.002 })).outputs.model!;
    const tf = await h.engine.tf();
    const model = await h.engine.loadModel(trained);
    // Zero 80% of every kernel in a fixed scattered pattern.
    for (const layer of model.layers) {
      const [k, ...rest] = layer.getWeights();
      const v = k!.dataSync().slice() as Float32Array;
      for (let i = 0; i < v.length; i++) if ((i * 7919) % 10 < 8) v[i] = 0;
      layer.setWeights([tf.tensor(v, k!.shape), ...rest]);
    }
    pruned = join(h.dir, 'pruned');
    await h.engine.saveModel(model, pruned);
  }, 60_000);
  afterAll(() => h.cleanup());

  test('keeps <= clusters values per kernel, lowers the loss vs no fine-tuning, deterministic', async () => {
    const plain = await run({ bits: 2, eval: 'test' });
    const tuned = await run({ bits: 2, eval: 'test', finetune: { epochs: 1 } });
    const again = await run({ bits: 2, eval: 'test', finetune: { epochs: 1 } });
    const m = tuned.metrics as Record<string, any>;
    expect(m.lossClustered).toBe(plain.metrics!.loss);
    expect(m.accuracyClustered).toBe(plain.metrics!.accuracy);
    expect(m.loss).toBeLessThan(plain.metrics!.loss as number);
    expect(m.finetune).toMatchObject({ epochs: 1, steps: Math.ceil(2000 / 64) });
    const w = await weightsOf(tuned.outputs.model!);
    const wp = await weightsOf(plain.outputs.model!);
    const wa = await weightsOf(again.outputs.model!);
    const meta = JSON.parse(await readFile(join(tuned.outputs.model!, 'meta.json'), 'utf8'));
    for (const name of KERNELS) {
      const values = distinctNonZeroBits(w.get(name)!);
      expect(values.size).toBeLessThanOrEqual(4);
      expect(meta.layers[name.split('/')[0]!].kernel.clustersUsed).toBe(values.size);
      // The centroids moved...
      expect(bytesOf(w.get(name)!).equals(bytesOf(wp.get(name)!))).toBe(false);
      // ...the same way in both runs.
      expect(bytesOf(wa.get(name)!).equals(bytesOf(w.get(name)!))).toBe(true);
    }
    expect(await readFile(join(again.outputs.model!, 'meta.json'), 'utf8')).toBe(await readFile(join(tuned.outputs.model!, 'meta.json'), 'utf8'));
  });

  test('keeps pruned zeros as +0, in shared layers and in layers left out', async () => {
    const r = await run({ bits: 3, exclude: ['dense3'], finetune: { epochs: 1, learningRate: 0.001 } }, pruned);
    const before = await weightsOf(pruned);
    const after = await weightsOf(r.outputs.model!);
    for (const name of KERNELS) {
      const b = before.get(name)!;
      const a = after.get(name)!;
      const bits = new Uint32Array(a.buffer);
      let zeros = 0;
      let wrong = 0;
      for (let i = 0; i < a.length; i++) {
        if (b[i] === 0) {
          zeros++;
          if (bits[i] !== 0) wrong++;
        } else if (a[i] === 0) wrong++;
      }
      expect(zeros).toBeGreaterThan(a.length / 2);
      expect(wrong).toBe(0);
    }
    expect(distinctNonZeroBits(after.get('dense1/kernel')!).size).toBeLessThanOrEqual(8);
    // dense3 was not shared, but fine-tuning trained it (within its mask).
    expect(distinctNonZeroBits(after.get('dense3/kernel')!).size).toBeGreaterThan(8);
    expect(bytesOf(after.get('dense3/kernel')!).equals(bytesOf(before.get('dense3/kernel')!))).toBe(false);
  });
});

describe('share stage: tying', () => {
  let h: Harness;
  let model: string;
  const run = async (config: Record<string, Json>) => h.run(shareStage, config, modelInput(await h.artifact(model)));

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [32, 32, 32] } } });
    model = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
  }, 60_000);
  afterAll(() => h.cleanup());

  test('tied kernels become their mean, identical, without sharing', async () => {
    const r = await run({ exclude: ['dense*'], tie: [['dense2', 'dense3']] });
    const before = await weightsOf(model);
    const after = await weightsOf(r.outputs.model!);
    const [a, b] = [before.get('dense2/kernel')!, before.get('dense3/kernel')!];
    const mean = a.map((x, i) => (x + b[i]!) / 2);
    expect(bytesOf(after.get('dense2/kernel')!).equals(bytesOf(mean))).toBe(true);
    expect(bytesOf(after.get('dense3/kernel')!).equals(bytesOf(mean))).toBe(true);
    // Biases are not tied.
    expect(bytesOf(after.get('dense3/bias')!).equals(bytesOf(before.get('dense3/bias')!))).toBe(true);
    expect(JSON.parse(await readFile(join(r.outputs.model!, 'meta.json'), 'utf8')).tie).toEqual([['dense2', 'dense3']]);
  });

  test('tied and shared kernels stay identical through fine-tuning, with one codebook', async () => {
    const r = await run({ bits: 3, tie: [['dense2', 'dense3']], finetune: { epochs: 1, learningRate: 0.001 } });
    const after = await weightsOf(r.outputs.model!);
    expect(bytesOf(after.get('dense2/kernel')!).equals(bytesOf(after.get('dense3/kernel')!))).toBe(true);
    expect(distinctNonZeroBits(after.get('dense2/kernel')!).size).toBeLessThanOrEqual(8);
    const meta = JSON.parse(await readFile(join(r.outputs.model!, 'meta.json'), 'utf8'));
    expect(meta.layers.dense2.kernel.codebook).toEqual(meta.layers.dense3.kernel.codebook);
    expect(meta.layers.dense2.kernel.tiedWith).toEqual(['dense3']);
    expect(meta.layers.dense3.kernel.tiedWith).toEqual(['dense2']);
    expect(bytesOf(after.get('dense2/bias')!).equals(bytesOf(after.get('dense3/bias')!))).toBe(false);
  });

  test.each([
    [{ tie: [['dense1', 'dense2']] }, 'cannot tie `dense1` (kernel [784, 32]) and `dense2` (kernel [32, 32]): tied kernels need the same shape', ['tie', 0, 1]],
    [{ tie: [['dense2', 'dense_7']] }, 'layer `dense_7` is not in the model', ['tie', 0, 1]],
    [{ tie: [['dense2', 'dense3'], ['dense3', 'dense2']] }, 'layer `dense3` is tied twice (also in tie[0])', ['tie', 1, 0]],
    [{ tie: [['dense2', 'dense3']], exclude: ['dense3'] }, 'tied layers must be all shared or all left out; shared: dense2; not: dense3', ['tie', 0]],
    [{ tie: [['dense2', 'dense3']], layers: { 'dense*': {}, dense3: { bits: 2 } } }, 'tied layers need the same clustering settings (dense2, dense3 differ)', ['tie', 0]],
  ] as [Record<string, Json>, string, (string | number)[]][])('tie error: %j', async (config, message, path) => {
    const err = await run(config).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe(message);
    expect((err as StageConfigError).path).toEqual(path);
  });
});
