/**
 * Fixed-point Qm.n quantization: the rounding against an independent float64
 * computation (ties, negatives, saturation), n chosen from the range, the
 * stored entry decoded by stock tfjs and by the packed loader to exactly
 * k / 2^n, and the quantize stage on a small trained MNIST MLP (per-layer
 * override, accuracy kept, activations simulated, config errors).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { loadTf, type Tf } from '../../../src/engine/tf.js';
import { packModel } from '../../../src/formats/packed.js';
import { quantizeTensor } from '../../../src/formats/weight-quantization.js';
import { inspectModel } from '../../../src/inspect/inspect-model.js';
import { unpack } from '../../../src/loader/unpack.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef, Json } from '../../../src/plugin.js';
import {
  chooseFractionalBits,
  fakeQuantFixedPoint,
  fixedPointCode,
  fixedPointFormatOf,
  formatName,
  quantizeFixedPoint,
} from '../../../src/stages/quantize/quantize-fixed-point.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

/** Round half to even, written independently of the code under test: floor and the exact fraction. */
function referenceCode(x: number, bits: number, n: number): number {
  const y = x * 2 ** n; // exact in float64 for a float32 x
  const f = Math.floor(y);
  const frac = y - f;
  const k = frac < 0.5 ? f : frac > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return Math.min(2 ** (bits - 1) - 1, Math.max(-(2 ** (bits - 1)), k));
}

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('cpu');
});

describe('Qm.n rounding', () => {
  test('ties go to even, negatives mirror positives, out-of-range values saturate', () => {
    const q = { bits: 8, fractionalBits: 4 } as const; // Q3.4: step 1/16, range [-8, 7.9375]
    expect([2.5, -2.5, 3.5, -3.5, 0.5, -0.5].map((x) => fixedPointCode(x / 16, q))).toEqual([2, -2, 4, -4, 0, -0]);
    expect(fixedPointCode(7.9375, q)).toBe(127);
    expect(fixedPointCode(7.97, q)).toBe(127); // 127.52 rounds to 128: saturates
    expect(fixedPointCode(100, q)).toBe(127);
    expect(fixedPointCode(-8, q)).toBe(-128);
    expect(fixedPointCode(-8.03, q)).toBe(-128);
    expect(fixedPointCode(-1e9, q)).toBe(-128);
    expect(formatName(q)).toBe('Q3.4');
  });

  test.each([
    [8, 4],
    [8, 7],
    [8, 11],
    [16, 13],
    [16, 0],
    [8, -2],
  ] as const)('%i bits, n = %i: every code equals the float64 reference, values k / 2^n exactly', (bits, n) => {
    // Seeded values over twice the representable range, plus exact ties.
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const span = 2 ** (bits - 1 - n);
    const values = Float32Array.from({ length: 2000 }, (_, i) => (i % 10 === 0 ? (Math.floor(rand() * 50) + 0.5) * 2 ** -n : rand() * 2 * span));
    const t = quantizeFixedPoint(values, bits, n);
    expect(t.format).toEqual({ bits, fractionalBits: n });
    // One comparison of whole arrays: a per-value expect costs more than the quantization.
    expect(Array.from(t.dequantized)).toEqual(Array.from(values, (x) => referenceCode(x, bits, n) * 2 ** -n));
    // Saturated: the values whose rounded code is outside [-2^(b-1), 2^(b-1) - 1].
    const outside = Array.from(values).filter((x) => {
      const y = x * 2 ** n;
      return y > 2 ** (bits - 1) - 0.5 || y < -(2 ** (bits - 1)) - 0.5;
    }).length;
    expect(outside).toBeGreaterThan(0);
    expect(t.saturated).toBe(outside);
    expect(t.quantization).toEqual({ dtype: bits === 8 ? 'uint8' : 'uint16', scale: 2 ** -n, min: -(2 ** (bits - 1)) * 2 ** -n, original_dtype: 'float32' });
  });

  test('stock tfjs decodes the stored entry to exactly k / 2^n', () => {
    const values = Float32Array.from([-0.7, -0.0312, 0, 0.015625, 0.33, 0.99]);
    for (const bits of [8, 16] as const) {
      const t = quantizeFixedPoint(values, bits);
      const spec = { name: 'w', shape: [values.length], dtype: 'float32' as const, quantization: t.quantization as tfjs.io.WeightsManifestEntry['quantization'] };
      const decoded = tf.io.decodeWeights(t.bytes.slice().buffer, [spec])['w']!.dataSync();
      expect(Array.from(decoded)).toEqual(Array.from(values, (x) => referenceCode(x, bits, t.format.fractionalBits) * 2 ** -t.format.fractionalBits));
    }
  });

  test('the Qm.n is recognised from the stored entry; an ordinary affine entry is not fixed-point', () => {
    const values = Float32Array.from([-0.21, 0.05, 0.13]);
    expect(fixedPointFormatOf(quantizeFixedPoint(values, 8).quantization)).toEqual({ bits: 8, fractionalBits: 9 });
    expect(fixedPointFormatOf(quantizeFixedPoint(values, 16, 3).quantization)).toEqual({ bits: 16, fractionalBits: 3 });
    expect(fixedPointFormatOf(quantizeTensor(values, 'uint8').quantization)).toBeUndefined();
    expect(fixedPointFormatOf(quantizeTensor(values, 'float16').quantization)).toBeUndefined();
  });

  test('fake quantization with tfjs ops (the activation simulation) matches the stored rounding', () => {
    const x = Float32Array.from([-9, -2.5 / 16, -0.1, 0, 2.5 / 16, 3.5 / 16, 1.3, 9]);
    const f = { bits: 8, fractionalBits: 4 } as const;
    const got = Array.from(fakeQuantFixedPoint(tf, tf.tensor1d(x), f).dataSync());
    expect(got).toEqual(Array.from(quantizeFixedPoint(x, 8, 4).dequantized));
  });
});

describe('n chosen from the range', () => {
  test.each([
    // [min, max, bits, n]: the largest n with no saturation after rounding.
    [-0.3, 0.9, 8, 7], // Q0.7: 0.9 * 128 = 115
    [0, 1, 8, 6], // 1 * 128 = 128 > 127: Q1.6
    [-1, 0.5, 8, 7], // -128 fits exactly
    [-0.05, 0.04, 8, 11], // Q-4.11: -0.05 * 2048 = -102.4
    [-3, 3, 16, 13], // Q2.13
    [-200, 5, 8, -1], // Q7.0 holds [-128, 127]: -200 needs Q8.-1 (step 2)
    [0, 0, 8, 7],
  ])('[%d, %d] in %i bits -> n = %i', (min, max, bits, n) => {
    const expected = n;
    expect(chooseFractionalBits(min, max, bits as 8 | 16)).toBe(expected);
    // Never saturates at the chosen n; n + 1 would (unless the range is all zero).
    const t = quantizeFixedPoint(Float32Array.from([min, max]), bits as 8 | 16);
    expect(t.saturated).toBe(0);
    if (max !== min) expect(quantizeFixedPoint(Float32Array.from([min, max]), bits as 8 | 16, expected + 1).saturated).toBeGreaterThan(0);
  });

  test('NaN or infinity is a clear error', () => {
    expect(() => quantizeFixedPoint(Float32Array.from([1, Number.NaN]), 8)).toThrow('cannot store NaN as a fixed-point value');
    expect(() => chooseFractionalBits(0, Infinity, 8)).toThrow('cannot choose a fixed-point format for the range 0 .. Infinity');
  });
});

describe('quantize stage, weights: fixed8 on a trained MNIST MLP', () => {
  let h: Harness;
  let trained: ArtifactRef;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [64] } } });
    const r = await h.run(trainStage, { data: 'train', epochs: 2, batchSize: 64 });
    trained = await h.artifact(r.outputs.model!);
  });
  afterAll(() => h.cleanup());

  test('per-layer Qm.n, accuracy kept, stock tfjs and the packed loader read k / 2^n, activations simulated', async () => {
    const r = await h.run(
      quantizeStage,
      { layers: { 'dense*': { weights: 'fixed8' }, dense2: { weights: 'fixed16', fractionalBits: 10 } }, activations: 'fixed8', eval: 'test', calibration: { samples: 128 } },
      modelInput(trained),
    );
    const m = r.metrics!;
    const dir = r.outputs.model!;
    expect(m.accuracyBefore as number).toBeGreaterThan(80);
    expect(Math.abs((m.accuracy as number) - (m.accuracyBefore as number))).toBeLessThanOrEqual(1);
    expect(Math.abs((m.fixedPointAccuracy as number) - (m.accuracyBefore as number))).toBeLessThanOrEqual(3);

    const layers = m.layers as Record<string, { weights: string; tensors: Record<string, { stored: string; fixedPoint?: Record<string, Json>; kept?: string }> }>;
    expect(layers['dense1']!.weights).toBe('fixed8');
    const k1 = layers['dense1']!.tensors['dense1/kernel']!;
    expect(k1.stored).toBe('uint8');
    const n1 = k1.fixedPoint!.fractionalBits as number;
    expect(k1.fixedPoint).toEqual({ format: `Q${7 - n1}.${n1}`, fractionalBits: n1, saturated: 0 });
    // The override: 16 bits with the given n = 10 (Q5.10).
    expect(layers['dense2']!.tensors['dense2/kernel']).toMatchObject({ stored: 'uint16', fixedPoint: { format: 'Q5.10', fractionalBits: 10, saturated: 0 } });
    // Biases below minSize stay float32, as in every mode.
    expect(layers['dense2']!.tensors['dense2/bias']!.kept).toBe('below minSize (10 < 256)');

    // Stock tfjs: every loaded kernel value is an integer in range over 2^n.
    const model = await h.engine.loadModel(dir);
    const kernel = model.getLayer('dense1').getWeights()[0]!.dataSync();
    for (const v of kernel) {
      const k = v * 2 ** n1;
      expect(Number.isInteger(k) && k >= -128 && k <= 127).toBe(true);
    }
    const kernel2 = model.getLayer('dense2').getWeights()[0]!.dataSync();
    for (const v of kernel2) expect(Number.isInteger(v * 1024)).toBe(true);
    // The packed container of the same artifact decodes to the same values.
    const packed = unpack((await packModel(dir)).bytes);
    const fromPacked = await tf.loadLayersModel({ load: async () => packed });
    expect(Array.from(fromPacked.getLayer('dense1').getWeights()[0]!.dataSync())).toEqual(Array.from(kernel));
    model.dispose();
    fromPacked.dispose();

    // modelpress inspect names the format of every fixed-point tensor.
    const report = await inspectModel(dir, { tf: async () => tf });
    if (!report.ok) throw new Error(JSON.stringify(report.diagnostics));
    const storage = new Map(report.value.layers.flatMap((l) => l.weights.map((w) => [w.name, w.storage])));
    expect(storage.get('dense1/kernel')).toBe(`uint8 affine (Q${7 - n1}.${n1})`);
    expect(storage.get('dense2/kernel')).toBe('uint16 affine (Q5.10)');
    expect(storage.get('dense2/bias')).toBe('float32');

    const fp = m.fixedPoint as { activations: string; calibration: { samples: number }; formats: Record<string, { format: string; min: number; max: number }> };
    expect(fp.activations).toBe('fixed8');
    expect(fp.calibration.samples).toBe(128);
    // MNIST pixels in [0, 1]: 1.0 needs one integer bit.
    expect(Object.entries(fp.formats)[0]).toEqual([expect.stringMatching(/^input:/), { format: 'Q1.6', min: 0, max: 1 }]);
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { metrics: Record<string, Json> };
    expect(meta.metrics['fixedPointAccuracy']).toBe(m.fixedPointAccuracy);
  });

  test('config errors name the option and what to do', async () => {
    const noEval = await h.run(quantizeStage, { weights: 'fixed8', activations: 'fixed16' }, modelInput(trained)).catch((e: unknown) => e);
    expect(noEval).toBeInstanceOf(StageConfigError);
    expect((noEval as StageConfigError).message).toBe('`activations: fixed16` reports the simulated accuracy on a dataset: set `eval`');
    const qat = await h.run(quantizeStage, { weights: 'fixed8', finetune: { epochs: 1 } }, modelInput(trained)).catch((e: unknown) => e);
    expect(qat).toBeInstanceOf(StageConfigError);
    expect((qat as StageConfigError).path).toEqual(['finetune', 'epochs']);
    const bitsAlone = await h.run(quantizeStage, { weights: 'uint8', fractionalBits: 6 }, modelInput(trained)).catch((e: unknown) => e);
    expect(bitsAlone).toBeInstanceOf(StageConfigError);
    expect((bitsAlone as StageConfigError).path).toEqual(['fractionalBits']);
    const percentile = await h.run(quantizeStage, { weights: 'fixed8', activations: 'fixed8', eval: 'test', calibration: { method: 'percentile' } }, modelInput(trained)).catch((e: unknown) => e);
    expect(percentile).toBeInstanceOf(StageConfigError);
    expect((percentile as StageConfigError).path).toEqual(['calibration', 'method']);
  });
});
