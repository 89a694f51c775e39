/**
 * The packed format: pack -> unpack is bit-exact against what tfjs decodes
 * from the source directory (dense float32, sparse, sparse + shared, uint8
 * manifest), a model loaded through `packedIOHandler` predicts identically,
 * the chosen encodings and the sizes, and a breakdown that adds up.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayersModel } from '@tensorflow/tfjs';
import { buildModel } from '../../src/engine/builders.js';
import { loadModelDir, readModelArtifacts, saveModelDir } from '../../src/engine/model-io.js';
import { loadTf } from '../../src/engine/tf.js';
import type { Tf } from '../../src/engine/tf.js';
import { breakdownMarkdown, packModel, packedEncodings } from '../../src/formats/packed.js';
import type { PackedBreakdown } from '../../src/formats/packed.js';
import { measureArtifactSize } from '../../src/measure/size.js';
import { packedIOHandler, readPacked, unpack } from '../../src/loader/index.js';
import { mulberry32 } from '../../src/data/dataset.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/models');

let tf: Tf;
const dirs: string[] = [];
beforeAll(async () => {
  tf = await loadTf('cpu');
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'modelpress-packed-'));
  dirs.push(d);
  return d;
}

const rng = mulberry32;

/**
 * Gives each kernel trained-like Gaussian weights (std 1/sqrt(fan-in)) and
 * each bias small non-zero ones, zeroes the smallest-magnitude `sparsity` of
 * each kernel (ties by index) and optionally clusters the remaining weights
 * to `levels` values (levels/2 per sign, spaced linearly between the pruning
 * threshold and the largest magnitude, as a trained codebook roughly is).
 */
function compressKernels(model: LayersModel, sparsity: number[], levels?: number): void {
  const r = rng(5);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  let k = 0;
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const next = ws.map((w, i) => {
      const values = new Float32Array(w.size);
      if (i === 1) {
        for (let j = 0; j < values.length; j++) values[j] = 0.01 * gauss();
        return tf.tensor(values, w.shape);
      }
      const std = 1 / Math.sqrt(w.shape[0]!);
      for (let j = 0; j < values.length; j++) values[j] = std * gauss();
      const s = sparsity[k++] ?? 0;
      const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
      const cut = Math.round(s * values.length);
      for (let j = 0; j < cut; j++) values[order[j]!] = 0;
      if (levels) {
        const lo = Math.abs(values[order[cut]!]!);
        const hi = Math.abs(values[order[values.length - 1]!]!);
        const half = levels / 2;
        const step = (hi - lo) / (half - 1);
        for (let j = 0; j < values.length; j++) {
          const v = values[j]!;
          if (v === 0) continue;
          values[j] = Math.sign(v) * Math.fround(lo + Math.round((Math.abs(v) - lo) / step) * step);
        }
      }
      return tf.tensor(values, w.shape);
    });
    layer.setWeights(next);
    next.forEach((t) => t.dispose());
  }
}

async function saveMlp(units: number[], sparsity?: number[], levels?: number, inputShape = [784]): Promise<string> {
  const model = buildModel(tf, { arch: 'mlp', units, inputShape }, 7);
  if (sparsity) compressKernels(model, sparsity, levels);
  const dir = path.join(await tempDir(), 'model');
  await saveModelDir(model, dir);
  model.dispose();
  return dir;
}

/** Asserts the unpacked weights are bit-identical to what tfjs decodes from the directory. */
async function expectExact(dir: string, bytes: Uint8Array): Promise<void> {
  const original = await readModelArtifacts(dir);
  const decoded = tf.io.decodeWeights(original.weightData!, original.weightSpecs!);
  const unpacked = unpack(bytes);
  const back = tf.io.decodeWeights(unpacked.weightData!, unpacked.weightSpecs!);
  expect(unpacked.weightSpecs!.map((s) => s.name)).toEqual(original.weightSpecs!.map((s) => s.name));
  expect(unpacked.modelTopology).toEqual(original.modelTopology);
  for (const spec of original.weightSpecs!) {
    const a = decoded[spec.name]!;
    const b = back[spec.name]!;
    expect(b.shape).toEqual(a.shape);
    expect(b.dtype).toBe(a.dtype);
    const av = new Uint32Array((a.dataSync() as Float32Array).slice().buffer);
    const bv = new Uint32Array((b.dataSync() as Float32Array).slice().buffer);
    expect(Buffer.from(bv.buffer).equals(Buffer.from(av.buffer))).toBe(true);
  }
  Object.values(decoded).forEach((t) => t.dispose());
  Object.values(back).forEach((t) => t.dispose());
}

async function expectSamePredictions(dir: string, bytes: Uint8Array, inputDim: number): Promise<void> {
  const original = await loadModelDir(dir, { tf });
  const packed = await tf.loadLayersModel(packedIOHandler(bytes));
  const r = rng(11);
  const x = tf.tensor2d(Float32Array.from({ length: 8 * inputDim }, () => r()), [8, inputDim]);
  const a = (original.predict(x) as ReturnType<typeof tf.tensor>).dataSync();
  const b = (packed.predict(x) as ReturnType<typeof tf.tensor>).dataSync();
  expect(Array.from(b)).toEqual(Array.from(a));
  x.dispose();
  original.dispose();
  packed.dispose();
}

/** The breakdown adds up: header + topology + records = file; per record: parts = record; layers sum to the tensors. */
function expectConsistent(bytes: Uint8Array, b: PackedBreakdown): void {
  expect(b.totalBytes).toBe(bytes.byteLength);
  expect(b.headerBytes + b.topologyBytes + b.tensorBytes).toBe(bytes.byteLength);
  const records = readPacked(bytes);
  expect(records.headerBytes).toBe(b.headerBytes + b.topologyBytes);
  records.tensors.forEach((rec, i) => {
    const t = b.tensors[i]!;
    expect(rec.end - rec.start).toBe(t.bytes);
    expect(t.valueBytes + t.indexBytes + t.overheadBytes).toBe(t.bytes);
    expect(t.valueBytes).toBeGreaterThanOrEqual(Math.floor((t.bitsPerWeight * (t.encoding.startsWith('sparse') ? t.nonZeros : t.weights)) / 8));
  });
  expect(b.layers.reduce((n, l) => n + l.bytes, 0)).toBe(b.tensorBytes);
  expect(b.layers.reduce((n, l) => n + l.weights, 0)).toBe(b.weights);
  expect(b.layers.reduce((n, l) => n + l.nonZeros, 0)).toBe(b.nonZeros);
}

function table(b: PackedBreakdown): string {
  return b.tensors
    .map((t) => `${t.name.padEnd(16)} ${String(t.weights).padStart(7)} kept ${t.keptPct.toFixed(1).padStart(5)}% ${t.encoding.padEnd(13)} w ${t.bitsPerWeight.toFixed(2)}b idx ${t.bitsPerIndex.toFixed(2)}b (gap ${t.gapBits}) K ${t.codebook} ${t.bytes} B`)
    .join('\n');
}

describe('pack -> unpack', () => {
  test('(i) dense float32 MLP: raw encoding, exact, same predictions', async () => {
    const dir = await saveMlp([20, 10], undefined, undefined, [16]);
    const { bytes, breakdown } = await packModel(dir);
    await expectExact(dir, bytes);
    await expectSamePredictions(dir, bytes, 16);
    expectConsistent(bytes, breakdown);
    expect(new Set(packedEncodings(bytes).filter((e) => e.name.endsWith('kernel')).map((e) => e.encoding))).toEqual(new Set(['raw']));
    // Raw float32 kernels, all-zero biases (init) stored sparse: the file is the kernels + topology + a little.
    const kernelBytes = breakdown.tensors.filter((t) => t.name.endsWith('kernel')).reduce((n, t) => n + t.weights * 4, 0);
    expect(bytes.byteLength).toBeLessThan(kernelBytes + breakdown.topologyBytes + 200);
  });

  test('(ii) 90% zeros: sparse encoding, exact, same predictions', async () => {
    const dir = await saveMlp([64, 32], [0.9, 0.9, 0.9], undefined, [64]);
    const { bytes, breakdown } = await packModel(dir);
    await expectExact(dir, bytes);
    await expectSamePredictions(dir, bytes, 64);
    expectConsistent(bytes, breakdown);
    const kernels = breakdown.tensors.filter((t) => t.name.endsWith('kernel'));
    for (const t of kernels) {
      expect(t.encoding).toBe('sparse');
      expect(t.keptPct).toBeCloseTo(10, 0);
      expect(t.bitsPerWeight).toBe(32);
    }
  });

  test('(iii) LeNet-300-100, 92/91/74% zeros and 32 levels: sparse-shared, exact, far smaller than gzip', async () => {
    const dir = await saveMlp([300, 100], [0.92, 0.91, 0.74], 32);
    const t0 = performance.now();
    const { bytes, breakdown } = await packModel(dir);
    const packMs = performance.now() - t0;
    const t1 = performance.now();
    unpack(bytes);
    const unpackMs = performance.now() - t1;
    await expectExact(dir, bytes);
    await expectSamePredictions(dir, bytes, 784);
    expectConsistent(bytes, breakdown);
    for (const t of breakdown.tensors.filter((t) => t.name.endsWith('kernel'))) {
      expect(t.encoding).toBe('sparse-shared');
      expect(t.codebook).toBeLessThanOrEqual(32);
      expect(t.bitsPerWeight).toBeLessThanOrEqual(5);
    }
    const size = await measureArtifactSize(dir);
    const { gzipSync, brotliCompressSync } = await import('node:zlib');
    const packedGzip = gzipSync(bytes, { level: 9 }).byteLength;
    const packedBrotli = brotliCompressSync(bytes).byteLength;
    console.log(
      `LeNet-300-100 (92/91/74% zeros, 5-bit): float32 weights ${breakdown.float32Bytes} B; tfjs raw ${size.raw} B, gzip ${size.gzip} B, brotli ${size.brotli} B; ` +
        `packed ${bytes.byteLength} B (topology ${breakdown.topologyBytes} B; gzip of packed ${packedGzip}, brotli ${packedBrotli}); ` +
        `ratio float32/packed ${breakdown.compressionRatio.toFixed(1)}x, gzip/packed ${(size.gzip / bytes.byteLength).toFixed(2)}x\n` +
        `pack ${packMs.toFixed(0)} ms, unpack ${unpackMs.toFixed(0)} ms\n` +
        breakdownMarkdown(breakdown) +
        '\n' +
        table(breakdown) +
        '\n' +
        breakdown.layers.map((l) => `${l.layer}: kept ${l.keptPct.toFixed(1)}% w ${l.bitsPerWeight.toFixed(2)}b idx ${l.bitsPerIndex.toFixed(2)}b ${l.bytes} B`).join('\n'),
    );
    // Measured: float32 1066440 B, tfjs gzip 50330 B, brotli 39073 B, packed 27217 B (1.85x / 1.44x / 39x).
    expect(size.gzip / bytes.byteLength).toBeGreaterThan(1.6);
    expect(size.brotli / bytes.byteLength).toBeGreaterThan(1.25);
    expect(breakdown.compressionRatio).toBeGreaterThan(33);
    // Index bits near the entropy of geometric gaps at 8% density (~5.0 bits), value bits below 5.
    const d1 = breakdown.tensors.find((t) => t.name === 'dense1/kernel')!;
    expect(d1.bitsPerIndex).toBeLessThan(5.3);
    expect(d1.bitsPerWeight).toBeLessThan(5);
  });

  test('(iv) quantized manifest (uint8/uint16/float16): values equal what tfjs decodes from the original; same predictions', async () => {
    const dir = path.join(await tempDir(), 'quantized-dense');
    await cp(path.join(FIXTURES, 'quantized-dense'), dir, { recursive: true });
    const { bytes, breakdown } = await packModel(dir);
    await expectExact(dir, bytes);
    await expectSamePredictions(dir, bytes, 3);
    expectConsistent(bytes, breakdown);
    // The fixture mixes uint8, uint16 and float16 storage.
    expect(breakdown.tensors.map((t) => t.source)).toEqual(['uint8', 'uint16', 'float16', 'float16']);
    // Never more value + index bytes than the source stored.
    const width = { uint8: 1, uint16: 2, float16: 2 } as Record<string, number>;
    for (const t of breakdown.tensors) expect(t.valueBytes + t.indexBytes).toBeLessThanOrEqual(t.weights * width[t.source]!);
  });

  test('quantized + sparse: uint8 and float16 manifests of a pruned model stay exact', async () => {
    const { quantizeTensor, quantizedWeight, splitWeights, withWeights, decodeFloat32 } = await import('../../src/formats/weight-quantization.js');
    const { writeModelArtifacts } = await import('../../src/engine/model-io.js');
    const src = await saveMlp([40, 20], [0.9, 0.8, 0.5], undefined, [30]);
    const artifacts = await readModelArtifacts(src);
    for (const dtype of ['uint8', 'uint16', 'float16'] as const) {
      const weights = splitWeights(artifacts).map((w) => quantizedWeight(w.spec.name, w.spec.shape, quantizeTensor(decodeFloat32(w)!, dtype)));
      const dir = path.join(await tempDir(), dtype);
      await writeModelArtifacts(withWeights(artifacts, weights), dir);
      const { bytes, breakdown } = await packModel(dir);
      await expectExact(dir, bytes);
      await expectSamePredictions(dir, bytes, 30);
      expectConsistent(bytes, breakdown);
      const k0 = breakdown.tensors[0]!;
      expect(k0.source).toBe(dtype);
      expect(k0.keptPct).toBeCloseTo(10, 0);
      expect(k0.encoding.startsWith('sparse')).toBe(true);
    }
  });

  test('deterministic: packing twice gives the same bytes', async () => {
    const dir = await saveMlp([30], [0.8, 0.5], 16, [20]);
    const a = await packModel(dir);
    const b = await packModel(dir);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });
});
