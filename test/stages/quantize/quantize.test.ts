/**
 * The quantize stage on a real trained MLP [300, 100] (2,000 MNIST images,
 * 2 epochs): shards shrink ~4x / ~2x, stock tfjs loads the output and gets
 * the dequantized values, accuracy holds, per-layer selection works, pruned
 * zeros stay exactly 0.0, output is deterministic, and a bad pattern is a
 * StageConfigError.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

interface ModelJson {
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: Record<string, Json> }[] }[];
}

async function shardBytes(dir: string): Promise<Buffer> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bin')).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
}

async function manifest(dir: string): Promise<Map<string, { dtype: string; quantization?: Record<string, Json> }>> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
  return new Map(json.weightsManifest.flatMap((g) => g.weights).map((w) => [w.name, w]));
}

describe('quantize stage', () => {
  let h: Harness;
  let trained: ArtifactRef;
  let float32Bytes: number;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [300, 100] } } });
    const r = await h.run(trainStage, { data: 'train', epochs: 2, batchSize: 64 });
    trained = await h.artifact(r.outputs.model!);
    float32Bytes = (await shardBytes(trained.dir)).byteLength;
    expect(float32Bytes).toBe((784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10) * 4);
  });
  afterAll(() => h.cleanup());

  test('uint8 (default): ~4x smaller shards, stock tfjs loads the dequantized weights, accuracy within 0.5 pp', async () => {
    const r = await h.run(quantizeStage, { eval: 'test' }, modelInput(trained));
    const dir = r.outputs.model!;
    const m = r.metrics!;
    const bytes = (await shardBytes(dir)).byteLength;
    // Kernels and dense1's bias as uint8; the biases of 100 and 10 elements stay float32 below minSize 256.
    expect(bytes).toBe(784 * 300 + 300 + 300 * 100 + 100 * 10 + (100 + 10) * 4);
    expect(float32Bytes / bytes).toBeGreaterThan(3.9);
    expect(m.weightBytesBefore).toBe(float32Bytes);
    expect(m.weightBytesAfter).toBe(bytes);
    expect(Math.abs((m.accuracy as number) - (m.accuracyBefore as number))).toBeLessThanOrEqual(0.5);
    expect(m.accuracyBefore as number).toBeGreaterThan(80);

    const entries = await manifest(dir);
    const q = entries.get('dense1/kernel')!.quantization!;
    expect(Object.keys(q)).toEqual(['dtype', 'min', 'scale', 'original_dtype']);
    expect(q.dtype).toBe('uint8');
    expect(q.original_dtype).toBe('float32');
    expect(entries.get('dense1/kernel')!.dtype).toBe('float32');
    expect(entries.get('dense1/bias')!.quantization!.dtype).toBe('uint8');
    expect(entries.get('dense2/bias')!.quantization).toBeUndefined();

    // What stock tfjs loads is exactly q * scale + min of the stored codes.
    const model = await h.engine.loadModel(dir);
    const kernel = model.getLayer('dense1').getWeights()[0]!.dataSync();
    const codes = new Uint8Array((await readModelArtifacts(dir)).weightData as ArrayBuffer, 0, 784 * 300);
    for (let i = 0; i < codes.length; i += 997) expect(kernel[i]).toBe(Math.fround(codes[i]! * (q.scale as number) + (q.min as number)));
    const tf = await h.engine.tf();
    const y = model.predict(tf.zeros([2, 784])) as tfTypes.Tensor;
    expect(y.shape).toEqual([2, 10]);

    const layers = m.layers as Record<string, any>;
    expect(Object.keys(layers)).toEqual(['dense1', 'dense2', 'dense3']);
    expect(layers.dense1.weights).toBe('uint8');
    expect(layers.dense1.bytesBefore).toBe((784 * 300 + 300) * 4);
    expect(layers.dense1.bytesAfter).toBe(784 * 300 + 300);
    expect(layers.dense1.maxError).toBeGreaterThan(0);
    expect(layers.dense1.maxError).toBeLessThanOrEqual((q.scale as number) / 2 + 1e-7);
    expect(layers.dense2.tensors['dense2/bias']).toEqual({ stored: 'float32', elements: 100, bytesBefore: 400, bytesAfter: 400, maxError: 0, kept: 'below minSize (100 < 256)' });

    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
    expect(meta.stage).toBe('quantize');
    expect(meta.metrics.accuracy).toBe(m.accuracy);
    expect(meta.metrics.quantizeMs).toBeUndefined();
    expect(typeof m.quantizeMs).toBe('number');
  });

  test.each(['uint16', 'float16'] as const)('%s: ~2x smaller, same accuracy', async (weights) => {
    const r = await h.run(quantizeStage, { weights, minSize: 0, eval: 'test' }, modelInput(trained));
    const bytes = (await shardBytes(r.outputs.model!)).byteLength;
    expect(bytes).toBe(float32Bytes / 2);
    expect(Math.abs((r.metrics!.accuracy as number) - (r.metrics!.accuracyBefore as number))).toBeLessThanOrEqual(0.2);
    const entries = await manifest(r.outputs.model!);
    expect(entries.get('dense3/bias')!.quantization).toEqual(weights === 'float16' ? { dtype: 'float16', original_dtype: 'float32' } : expect.objectContaining({ dtype: 'uint16' }));
    await (await h.engine.loadModel(r.outputs.model!)).predict((await h.engine.tf()).zeros([1, 784]));
  });

  test('per-layer selection: globs, regex, exclude, per-layer minSize', async () => {
    const r = await h.run(
      quantizeStage,
      { weights: 'uint8', layers: { 'dense*': {}, 're:^dense3$': { weights: 'float16', minSize: 0 } }, exclude: ['dense2'] },
      modelInput(trained),
    );
    const e = await manifest(r.outputs.model!);
    const stored = (n: string) => (e.get(n)!.quantization?.dtype as string | undefined) ?? e.get(n)!.dtype;
    expect(['dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias', 'dense3/kernel', 'dense3/bias'].map(stored)).toEqual([
      'uint8',
      'uint8',
      'float32',
      'float32',
      'float16',
      'float16',
    ]);
    const layers = r.metrics!.layers as Record<string, any>;
    expect(layers.dense2.weights).toBe('none');
    expect(layers.dense2.tensors['dense2/kernel'].kept).toBe('layer not targeted');
    // An untouched tensor keeps its bytes exactly.
    const before = await readModelArtifacts(trained.dir);
    const after = await readModelArtifacts(r.outputs.model!);
    const slice = (a: typeof before, name: string) => {
      let off = 0;
      for (const s of a.weightSpecs!) {
        const n = s.shape.reduce((x, y) => x * y, 1) * (s.quantization ? (s.quantization.dtype === 'uint8' ? 1 : 2) : 4);
        if (s.name === name) return Buffer.from(a.weightData as ArrayBuffer, off, n);
        off += n;
      }
      throw new Error(name);
    };
    expect(slice(after, 'dense2/kernel').equals(slice(before, 'dense2/kernel'))).toBe(true);
  });

  test('a pattern matching no layer is a StageConfigError listing the layers', async () => {
    const err = await h.run(quantizeStage, { layers: { dense_9: { weights: 'uint16' } } }, modelInput(trained)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as StageConfigError).message).toBe('pattern `dense_9` matches no layer of the model');
    expect((err as StageConfigError).path).toEqual(['layers', 'dense_9']);
    expect((err as StageConfigError).hints).toEqual(['eligible layers: dense1, dense2, dense3', 'all layers: dense1, dense2, dense3']);
    const ex = await h.run(quantizeStage, { exclude: ['conv*'] }, modelInput(trained)).catch((e: unknown) => e);
    expect((ex as StageConfigError).path).toEqual(['exclude', 0]);
    const noEval = await h.run(quantizeStage, { activations: 'int8' }, modelInput(trained)).catch((e: unknown) => e);
    expect(noEval).toBeInstanceOf(StageConfigError);
    expect((noEval as StageConfigError).path).toEqual(['activations']);
    await expect(h.run(quantizeStage, {})).rejects.toThrow('quantize needs a model: give the recipe a `model:` (from or build)');
  });

  test('pruned zeros load as exactly +0.0 after uint8, uint16 and float16', async () => {
    // Prune dense1 and dense2 to 80% by magnitude, writing +0 (tf.where, not x * 0).
    const tf = await h.engine.tf();
    const model = await h.engine.loadModel(trained.dir);
    for (const name of ['dense1', 'dense2']) {
      const [k, b] = model.getLayer(name).getWeights();
      const v = k!.dataSync();
      const sorted = Float32Array.from(v, Math.abs).sort();
      const threshold = sorted[Math.floor(sorted.length * 0.8)]!;
      const pruned = tf.where(tf.greater(tf.abs(k!), threshold), k!, tf.zerosLike(k!));
      model.getLayer(name).setWeights([pruned, b!]);
    }
    const prunedDir = join(h.dir, 'pruned');
    await h.engine.saveModel(model, prunedDir);
    const zerosBefore = model.getLayer('dense1').getWeights()[0]!.dataSync();
    const zeroAt = [...zerosBefore].flatMap((v, i) => (v === 0 ? [i] : []));
    expect(zeroAt.length).toBeGreaterThan(0.79 * zerosBefore.length);
    const prunedModel = await h.engine.loadModel(prunedDir);
    const prunedRef = await h.artifact(prunedDir);
    for (const weights of ['uint8', 'uint16', 'float16'] as const) {
      const r = await h.run(quantizeStage, { weights }, modelInput(prunedRef));
      const loaded = await h.engine.loadModel(r.outputs.model!);
      for (const name of ['dense1', 'dense2']) {
        const before = prunedModel.getLayer(name).getWeights()[0]!.dataSync();
        const after = loaded.getLayer(name).getWeights()[0]!.dataSync();
        for (let i = 0; i < before.length; i++) {
          if (before[i] === 0 && !Object.is(after[i], 0)) throw new Error(`${weights} ${name}[${i}] = ${after[i]}`);
        }
      }
    }
  });

  test('deterministic: same config twice gives identical bytes; int8 simulation changes no model bytes', async () => {
    const a = await h.run(quantizeStage, { weights: 'uint8', eval: 'test' }, modelInput(trained));
    const b = await h.run(quantizeStage, { weights: 'uint8', eval: 'test' }, modelInput(trained));
    const c = await h.run(quantizeStage, { weights: 'uint8', eval: 'test', activations: 'int8', calibration: { samples: 128 } }, modelInput(trained));
    expect((await shardBytes(a.outputs.model!)).equals(await shardBytes(b.outputs.model!))).toBe(true);
    expect((await shardBytes(a.outputs.model!)).equals(await shardBytes(c.outputs.model!))).toBe(true);
    const files = ['model.json', 'meta.json'];
    for (const f of files) expect(await readFile(join(b.outputs.model!, f), 'utf8')).toBe(await readFile(join(a.outputs.model!, f), 'utf8'));
    expect(await readFile(join(c.outputs.model!, 'model.json'), 'utf8')).toBe(await readFile(join(a.outputs.model!, 'model.json'), 'utf8'));
    expect((await h.artifact(a.outputs.model!)).digest).toBe((await h.artifact(b.outputs.model!)).digest);

    // int8: reported next to accuracy, close to it for a ReLU MLP, with a range per quantized tensor.
    const m = c.metrics!;
    expect(typeof m.int8Accuracy).toBe('number');
    expect(Math.abs((m.int8Accuracy as number) - (m.accuracyBefore as number))).toBeLessThan(2);
    const int8 = m.int8 as Record<string, any>;
    expect(Object.keys(int8.ranges)).toEqual(['input:dense1_input', 'dense1', 'dense2', 'dense3']);
    expect(int8.ranges.dense1.min).toBe(0); // ReLU
    expect(int8.ranges['input:dense1_input']).toEqual({ min: 0, max: 1 });
    expect(int8.kernels).toEqual(['dense1', 'dense2', 'dense3']);
    expect(int8.calibration).toEqual({ data: 'train', samples: 128, method: 'minmax' });
    const meta = JSON.parse(await readFile(join(c.outputs.model!, 'meta.json'), 'utf8'));
    expect(meta.metrics.int8Accuracy).toBe(m.int8Accuracy);
  });

  test('re-quantizing a quantized model works and an input stored quantized is read dequantized', async () => {
    const first = await h.run(quantizeStage, { weights: 'float16', minSize: 0 }, modelInput(trained));
    const second = await h.run(quantizeStage, { weights: 'uint8', minSize: 0, eval: 'test' }, modelInput(await h.artifact(first.outputs.model!)));
    expect(second.metrics!.weightBytesBefore).toBe(float32Bytes / 2);
    expect(second.metrics!.weightBytesAfter).toBe(float32Bytes / 4);
    expect(Math.abs((second.metrics!.accuracy as number) - (second.metrics!.accuracyBefore as number))).toBeLessThanOrEqual(1);
  });
});
