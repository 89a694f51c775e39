/**
 * The share stage on real models (an MLP 300-100 trained on 2,000 MNIST
 * images, an untrained LeNet-5), checked in the saved bytes: at most
 * `clusters` distinct non-zero values per kernel, the codebook in meta.json
 * is exactly those values, pruned zeros stay +0 at the same positions, every
 * init method is deterministic by seed, and stock tfjs loads the output.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageConfigError } from '../../../src/plugin.js';
import type { Json, StageResult } from '../../../src/plugin.js';
import { shareStage } from '../../../src/stages/share/share.js';
import { SHARE_INITS } from '../../../src/stages/share/share-kmeans.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { weightsOf } from '../../helpers/model-weights.js';


/** Raw bytes of all shards. */
async function shardBytes(dir: string): Promise<Buffer> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  return Buffer.concat(await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p)))));
}

/** Distinct non-zero bit patterns (so -0 would count as non-zero: it must not occur). */
function distinctNonZeroBits(a: Float32Array): Set<number> {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const s = new Set<number>();
  for (const x of u) if (x !== 0) s.add(x);
  return s;
}

const meta = async (r: StageResult) => JSON.parse(await readFile(join(r.outputs.model!, 'meta.json'), 'utf8')) as Record<string, any>;
const KERNELS = ['dense1/kernel', 'dense2/kernel', 'dense3/kernel'];

function configError(fn: () => Promise<unknown>): Promise<StageConfigError> {
  return fn().then(
    () => {
      throw new Error('expected a StageConfigError');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(StageConfigError);
      return e as StageConfigError;
    },
  );
}

describe('share stage', () => {
  let h: Harness;
  let trained: string;
  let pruned: string;
  const run = async (config: Record<string, Json>, dir = trained, harness = h) => harness.run(shareStage, config, modelInput(await harness.artifact(dir)));

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300, 100] } } });
    trained = (await h.run(trainStage, { data: 'train', epochs: 2, learningRate: 0.002 })).outputs.model!;
    // Zero the 80% smallest-magnitude weights of every kernel ourselves, some as -0.
    const tf = await h.engine.tf();
    const model = await h.engine.loadModel(trained);
    for (const layer of model.layers) {
      const ws = layer.getWeights();
      if (ws.length === 0) continue;
      const k = ws[0]!.dataSync().slice() as Float32Array;
      const cut = Float32Array.from(k, Math.abs).sort()[Math.floor(0.8 * k.length)]!;
      let flip = 0;
      for (let i = 0; i < k.length; i++) if (Math.abs(k[i]!) < cut) k[i] = flip++ % 2 === 0 ? 0 : -0;
      layer.setWeights([tf.tensor(k, ws[0]!.shape), ...ws.slice(1)]);
    }
    pruned = join(h.dir, 'pruned');
    await h.engine.saveModel(model, pruned);
  }, 60_000);
  afterAll(() => h.cleanup());

  test('defaults (5 bits): <= 32 values per kernel in the shard, codebook in meta.json, biases untouched, stock tfjs loads it', async () => {
    const r = await run({ eval: 'test' });
    const before = await weightsOf(trained);
    const after = await weightsOf(r.outputs.model!);
    const m = await meta(r);
    for (const name of KERNELS) {
      const values = distinctNonZeroBits(after.get(name)!);
      expect(values.size).toBeLessThanOrEqual(32);
      expect(values.size).toBeGreaterThan(16);
      const layer = name.split('/')[0]!;
      const entry = m.layers[layer].kernel;
      expect(entry).toMatchObject({ weight: name, clusters: 32, bitsPerIndex: 5, clustersUsed: values.size, init: 'linear', size: after.get(name)!.length });
      expect(entry.nonZeros).toBe(after.get(name)!.length);
      // The codebook is exactly the float32 values in the shard.
      expect(new Set((entry.codebook as number[]).map((c) => new Uint32Array(Float32Array.of(c).buffer)[0]))).toEqual(values);
      expect([...entry.codebook].sort((a: number, b: number) => a - b)).toEqual(entry.codebook);
      expect(Buffer.from(after.get(name.replace('kernel', 'bias'))!.buffer)).toEqual(Buffer.from(before.get(name.replace('kernel', 'bias'))!.buffer));
    }
    expect(r.metrics!.layers).toMatchObject({ dense1: { kernel: { clusters: 32, bitsPerIndex: 5, nonZeros: 784 * 300 } } });
    expect(r.metrics!.sharedWeights).toBe(784 * 300 + 300 * 100 + 100 * 10);
    // 5 bits costs little accuracy.
    const { accuracyBefore, accuracy } = r.metrics as { accuracyBefore: number; accuracy: number };
    expect(accuracyBefore).toBeGreaterThan(80);
    expect(accuracy).toBeGreaterThan(accuracyBefore - 3);
    expect(m.metrics.accuracy).toBe(accuracy);
    expect(m.metrics.clusterMs).toBeUndefined();
    expect(r.metrics!.clusterMs).toEqual(expect.any(Number));

    // Stock tfjs: loadLayersModel through tf.io.fromMemory, then predict.
    const tf = await h.engine.tf();
    const json = JSON.parse(await readFile(join(r.outputs.model!, 'model.json'), 'utf8'));
    const shard = await readFile(join(r.outputs.model!, json.weightsManifest[0].paths[0]));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength) }),
    );
    const p = model.predict(tf.ones([2, 784])) as import('@tensorflow/tfjs').Tensor;
    expect(p.shape).toEqual([2, 10]);
    const sums = await p.sum(-1).data();
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
    expect(distinctNonZeroBits((await model.getLayer('dense2').getWeights()[0]!.data()) as Float32Array).size).toBeLessThanOrEqual(32);
  });

  test('bits, clusters, per-layer overrides, exclude and biases', async () => {
    const r = await run({ bits: 2, biases: true, layers: { 'dense*': {}, dense3: { clusters: 3 } } });
    const w = await weightsOf(r.outputs.model!);
    const m = await meta(r);
    expect(distinctNonZeroBits(w.get('dense1/kernel')!).size).toBe(4);
    expect(distinctNonZeroBits(w.get('dense1/bias')!).size).toBeLessThanOrEqual(4);
    expect(distinctNonZeroBits(w.get('dense3/kernel')!).size).toBe(3);
    expect(m.layers.dense1.kernel).toMatchObject({ clusters: 4, bitsPerIndex: 2 });
    expect(m.layers.dense1.bias).toMatchObject({ weight: 'dense1/bias', clusters: 4 });
    expect(m.layers.dense3.kernel).toMatchObject({ clusters: 3, bitsPerIndex: 2, clustersUsed: 3 });

    const before = await weightsOf(trained);
    const ex = await run({ clusters: 7, exclude: ['dense3'] });
    const we = await weightsOf(ex.outputs.model!);
    expect(distinctNonZeroBits(we.get('dense2/kernel')!).size).toBe(7);
    expect((await meta(ex)).layers.dense2.kernel).toMatchObject({ clusters: 7, bitsPerIndex: 3 });
    expect(Buffer.from(we.get('dense3/kernel')!.buffer)).toEqual(Buffer.from(before.get('dense3/kernel')!.buffer));
    expect((await meta(ex)).layers.dense3).toBeUndefined();
  });

  test('a pre-pruned model (80% zeros, some -0): zeros stay at the same positions as +0 bytes', async () => {
    const r = await run({ bits: 4 }, pruned);
    const before = await weightsOf(pruned);
    const after = await weightsOf(r.outputs.model!);
    const m = await meta(r);
    for (const name of KERNELS) {
      const b = before.get(name)!;
      const a = after.get(name)!;
      const bits = new Uint32Array(a.buffer);
      let zeros = 0;
      let negZerosIn = 0;
      let wrong = 0;
      for (let i = 0; i < a.length; i++) {
        if (b[i] === 0) {
          zeros++;
          if (Object.is(b[i], -0)) negZerosIn++;
          if (bits[i] !== 0) wrong++; // must be exactly +0
        } else if (a[i] === 0) wrong++;
      }
      expect(wrong).toBe(0);
      expect(zeros).toBeGreaterThanOrEqual(Math.floor(0.8 * a.length));
      expect(negZerosIn).toBeGreaterThan(0);
      expect(distinctNonZeroBits(a).size).toBeLessThanOrEqual(16);
      expect(m.layers[name.split('/')[0]!].kernel.nonZeros).toBe(a.length - zeros);
    }
  });

  test.each(SHARE_INITS.map((i) => [i]))('init %s runs and is deterministic by seed', async (init) => {
    const a = await run({ bits: 3, init });
    const b = await run({ bits: 3, init });
    expect((await shardBytes(b.outputs.model!)).equals(await shardBytes(a.outputs.model!))).toBe(true);
    expect(await readFile(join(b.outputs.model!, 'meta.json'), 'utf8')).toBe(await readFile(join(a.outputs.model!, 'meta.json'), 'utf8'));
    const w = await weightsOf(a.outputs.model!);
    for (const name of KERNELS) expect(distinctNonZeroBits(w.get(name)!).size).toBeLessThanOrEqual(8);
    if (init === 'kmeans++' || init === 'random') {
      const other = await createHarness({ seed: 2 });
      try {
        const c = await run({ bits: 3, init }, trained, other);
        expect((await shardBytes(c.outputs.model!)).equals(await shardBytes(a.outputs.model!))).toBe(false);
      } finally {
        await other.cleanup();
      }
    }
  });

  test('conv kernels (LeNet-5, 4-D) are shared too', async () => {
    const lenet = join(h.dir, 'lenet');
    await h.engine.saveModel(await h.engine.buildModel({ arch: 'lenet5' }), lenet);
    const r = await run({ bits: 3, layers: { 'conv*': {} } }, lenet);
    const w = await weightsOf(r.outputs.model!);
    const m = await meta(r);
    expect(m.layers.conv1.kernel.shape).toEqual([5, 5, 1, 20]);
    for (const name of ['conv1/kernel', 'conv2/kernel']) expect(distinctNonZeroBits(w.get(name)!).size).toBe(8);
    expect(Object.keys(m.layers)).toEqual(['conv1', 'conv2']);
  });

  test('recipe errors: a pattern matching no layer, clusters with bits, no input model', async () => {
    const e = await configError(() => run({ layers: { dense_9: { bits: 3 } } }));
    expect(e.message).toBe('pattern `dense_9` matches no layer of the model');
    expect(e.path).toEqual(['layers', 'dense_9']);
    expect(e.hints).toEqual(['eligible layers: dense1, dense2, dense3', 'all layers: dense1, dense2, dense3']);
    expect((await configError(() => run({ exclude: ['conv*'] }))).path).toEqual(['exclude', 0]);
    const both = await configError(() => run({ clusters: 4, bits: 2 }));
    expect(both.message).toBe('give `clusters` or `bits`, not both (clusters 4 vs bits 2 = 4 clusters)');
    expect(both.path).toEqual(['bits']);
    expect((await configError(() => run({ layers: { dense1: { clusters: 4, bits: 3 } } }))).path).toEqual(['layers', 'dense1', 'bits']);
    await expect(h.run(shareStage, {})).rejects.toThrow('share needs a model: give the recipe a `model:` (from or build)');
    await expect(run({ init: 'kmeans' })).rejects.toThrow('invalid config');
  });
});
