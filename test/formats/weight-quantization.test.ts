/**
 * The tfjs weights-manifest quantization writer: hand-computed codes and
 * manifest entries, decoded by stock tfjs (`tf.io.decodeWeights` and
 * `tf.loadLayersModel` through `tf.io.fromMemory`) to exactly the values we
 * expect; exact zeros; the float16 encoder against known bit patterns and
 * against an exhaustive nearest-value check.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { loadTf } from '../../src/engine/tf.js';
import type { Tf } from '../../src/engine/tf.js';
import {
  affineRange,
  decodeFloat32,
  encodeFloat16,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  float32Weight,
  quantizedWeight,
  quantizeTensor,
  roundHalfEven,
  splitWeights,
  withWeights,
} from '../../src/formats/weight-quantization.js';
import type { QuantizationDtype } from '../../src/formats/weight-quantization.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('cpu');
});

/** Decodes one quantized tensor with stock tfjs. */
function tfjsDecode(values: Float32Array, dtype: QuantizationDtype, shape = [values.length]): Float32Array {
  const q = quantizeTensor(values, dtype);
  const w = quantizedWeight('w', shape, q);
  const bytes = w.bytes.slice().buffer;
  const decoded = tf.io.decodeWeights(bytes, [w.spec]);
  return decoded['w']!.dataSync() as Float32Array;
}

describe('affine uint8 / uint16 (the converter\'s nudged range)', () => {
  test('a tiny tensor: codes, manifest entry and the values stock tfjs decodes, with the nudged zero', () => {
    const values = new Float32Array([-0.1, 0, 0.5, 1.0]);
    const lo = Math.fround(-0.1); // -0.10000000149011612
    // Hand computation (quantization.py): scale = (max - min) / 255;
    // zero point = round(-min / scale) = round(23.18...) = 23; min' = -23 * scale.
    const scale = (1.0 - lo) / 255;
    expect(-lo / scale).toBeCloseTo(23.1818, 3);
    const min = -(23 * scale);
    const q = quantizeTensor(values, 'uint8');
    expect(q.quantization).toEqual({ dtype: 'uint8', min, scale, original_dtype: 'float32' });
    // -0.1 lies below the nudged min: clipped to code 0. 0 -> 23. 0.5 -> round((0.5 - min') / scale) = round(138.9) = 139.
    // 1.0 -> round(254.8) = 255.
    expect([...q.bytes]).toEqual([0, 23, 139, 255]);
    const expected = [0, 23, 139, 255].map((c) => Math.fround(c * scale + min));
    expect(expected[1]).toBe(0);
    const decoded = tfjsDecode(values, 'uint8');
    expect([...decoded]).toEqual(expected);
    expect(Object.is(decoded[1], 0)).toBe(true);
    expect([...q.dequantized]).toEqual(expected);
    expect(q.maxError).toBeCloseTo(Math.max(...[...values].map((v, i) => Math.abs(v - expected[i]!))), 12);
    expect(q.maxError).toBeLessThanOrEqual(scale / 2 + 1e-9);
  });

  test('the converter\'s own example (write_weights.py docstring): [0, -0.1, 1.2] -> codes [20, 0, 255]', () => {
    const q = quantizeTensor(new Float32Array([0, -0.1, 1.2]), 'uint8');
    expect([...q.bytes]).toEqual([20, 0, 255]);
    expect(q.quantization.min).toBeCloseTo(-0.10196078817, 10);
    expect(q.quantization.scale).toBeCloseTo(0.00509803940852, 12);
    expect(Object.is(tfjsDecode(new Float32Array([0, -0.1, 1.2]), 'uint8')[0], 0)).toBe(true);
  });

  test('uint16: same math with 65535 levels, little-endian codes', () => {
    const values = new Float32Array([-0.1, 0, 0.5, 1.0]);
    const lo = Math.fround(-0.1);
    const scale = (1.0 - lo) / 65535;
    const zp = Math.round(-lo / scale); // 5957.7... -> 5958
    expect(zp).toBe(5958);
    const min = -(zp * scale);
    const q = quantizeTensor(values, 'uint16');
    expect(q.quantization).toEqual({ dtype: 'uint16', min, scale, original_dtype: 'float32' });
    const codes = [0, zp, Math.round((0.5 - min) / scale), 65535];
    const le = codes.flatMap((c) => [c & 0xff, c >> 8]);
    expect([...q.bytes]).toEqual(le);
    const decoded = tfjsDecode(values, 'uint16');
    expect([...decoded]).toEqual(codes.map((c) => Math.fround(c * scale + min)));
    expect(Object.is(decoded[1], 0)).toBe(true);
  });

  test('ranges not covering 0 are not nudged; a constant tensor is all zero codes with scale 1', () => {
    expect(affineRange(0.5, 1.5, 'uint8')).toEqual({ scale: 1 / 255, min: 0.5, max: 1.5 });
    const c = quantizeTensor(new Float32Array([0.25, 0.25, 0.25]), 'uint8');
    expect(c.quantization).toEqual({ dtype: 'uint8', min: 0.25, scale: 1, original_dtype: 'float32' });
    expect([...c.bytes]).toEqual([0, 0, 0]);
    expect([...tfjsDecode(new Float32Array([0.25, 0.25, 0.25]), 'uint8')]).toEqual([0.25, 0.25, 0.25]);
    const z = tfjsDecode(new Float32Array([0, -0, 0]), 'uint8');
    expect([...z].every((v) => Object.is(v, 0))).toBe(true);
  });

  test('round half to even, as numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  test.each(['uint8', 'uint16', 'float16'] as const)('%s: pruned zeros (and -0.0) load as exactly +0.0; error within half a step (float16: half an ulp)', (dtype) => {
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const n = 5000;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = rand() < 0.7 ? (i % 2 ? 0 : -0) : (rand() - 0.3) * 0.4;
    const decoded = tfjsDecode(v, dtype);
    const q = quantizeTensor(v, dtype);
    for (let i = 0; i < n; i++) {
      if (v[i] === 0 && !Object.is(decoded[i], 0)) throw new Error(`zero at ${i} decoded as ${decoded[i]}`);
    }
    expect([...decoded]).toEqual([...q.dequantized]);
    const step = dtype === 'uint8' ? 0.4 / 255 : dtype === 'uint16' ? 0.4 / 65535 : 0.28 * 2 ** -10;
    expect(q.maxError).toBeLessThanOrEqual(step / 2 * 1.0001);
    expect(q.maxError).toBeGreaterThan(0);
  });
});

describe('float16', () => {
  test.each([
    ['+0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['65504 (max)', 65504, 0x7bff],
    ['65519 (rounds down to max)', 65519, 0x7bff],
    ['65520 (ties to even: Inf)', 65520, 0x7c00],
    ['1e6 (overflow)', 1e6, 0x7c00],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['5.96e-8 (nearest: 2^-24)', 5.96e-8, 0x0001],
    ['2^-25 (tie: even 0)', 2 ** -25, 0x0000],
    ['1.5 * 2^-25 (rounds up)', 1.5 * 2 ** -25, 0x0001],
    ['3 * 2^-25 (tie: even 2)', 3 * 2 ** -25, 0x0002],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['rounds up into the smallest normal', (1023.5 + 0.25) * 2 ** -24, 0x0400],
    ['smallest normal 2^-14', 2 ** -14, 0x0400],
    ['1 + 2^-11 (tie: even, down)', 1 + 2 ** -11, 0x3c00],
    ['1 + 3 * 2^-11 (tie: even, up)', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2^-11 + 2^-20 (above the tie)', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['0.1', 0.1, 0x2e66],
    ['-0.333333', -1 / 3, 0xb555],
    ['Inf', Infinity, 0x7c00],
    ['-Inf', -Infinity, 0xfc00],
    ['1e-10 (underflow)', 1e-10, 0x0000],
    ['-1e-10 (underflow keeps sign)', -1e-10, 0x8000],
  ])('%s', (_label, value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });

  test('stored float16 zeros are +0: -0.0 and tiny negatives that underflow (the encoder itself keeps the sign)', () => {
    const q = quantizeTensor(new Float32Array([-0, -1e-10, 1e-10, -1]), 'float16');
    expect([...q.bytes]).toEqual([0, 0, 0, 0, 0, 0, 0x00, 0xbc]);
    expect(q.dequantized.slice(0, 3).every((v) => Object.is(v, 0))).toBe(true);
  });

  test('NaN stays NaN (quiet), and tfjs decodes it as NaN', () => {
    const h = float32ToFloat16Bits(Number.NaN);
    expect(h & 0x7c00).toBe(0x7c00);
    expect(h & 0x3ff).not.toBe(0);
    const decoded = tf.io.decodeWeights(new Uint16Array([h, 0x7c00, 0xfc00, 0x0001, 0x7bff]).buffer, [
      { name: 'w', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
    ]);
    const v = decoded['w']!.dataSync();
    expect(Number.isNaN(v[0])).toBe(true);
    expect([...v.slice(1)]).toEqual([Infinity, -Infinity, 2 ** -24, 65504]);
  });

  test('every float16 value round-trips, our decoder agrees with tfjs\'s, and encoding picks the nearest (ties to even)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const ours = Array.from(all, (h) => float16BitsToFloat32(h));
    const theirs = tf.io.decodeWeights(all.slice().buffer, [{ name: 'w', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }])['w']!.dataSync();
    for (let h = 0; h < 65536; h++) {
      const a = ours[h]!;
      const b = theirs[h]!;
      if (Number.isNaN(a)) {
        expect(Number.isNaN(b)).toBe(true);
        continue;
      }
      if (!Object.is(a, b)) throw new Error(`0x${h.toString(16)}: ours ${a}, tfjs ${b}`);
      if (float32ToFloat16Bits(a) !== h) throw new Error(`0x${h.toString(16)} does not round-trip`);
    }
    // Midpoints between consecutive positive finite halves go to the even one; a hair above goes up.
    for (let h = 0; h < 0x7bff; h++) {
      const lo = float16BitsToFloat32(h);
      const hi = float16BitsToFloat32(h + 1);
      const mid = (lo + hi) / 2;
      if (Math.fround(mid) !== mid) continue; // not representable as float32 (cannot happen for halves; kept as a guard)
      const even = h % 2 === 0 ? h : h + 1;
      if (float32ToFloat16Bits(mid) !== even) throw new Error(`midpoint above 0x${h.toString(16)}`);
      const above = new Float32Array([mid]);
      const u = new Uint32Array(above.buffer);
      u[0]! += 1;
      if (float32ToFloat16Bits(above[0]!) !== h + 1) throw new Error(`just above the midpoint above 0x${h.toString(16)}`);
      u[0]! -= 2;
      if (float32ToFloat16Bits(above[0]!) !== h) throw new Error(`just below the midpoint above 0x${h.toString(16)}`);
    }
    expect(encodeFloat16([1, -1]).length).toBe(2);
  });
});

describe('whole models through stock tf.loadLayersModel', () => {
  async function tinyModel(): Promise<{ artifacts: tfTypes.io.ModelArtifacts; model: tfTypes.LayersModel }> {
    const model = tf.sequential({ name: 'tiny' });
    model.add(tf.layers.dense({ name: 'd1', units: 2, inputShape: [3], useBias: true }));
    model.setWeights([tf.tensor2d([-0.1, 0, 0.5, 1, 0, 0.25], [3, 2]), tf.tensor1d([0.3, -0.2])]);
    let artifacts: tfTypes.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    return { artifacts: artifacts!, model };
  }

  test.each(['uint8', 'uint16', 'float16'] as const)('%s kernel + float32 bias: loads and predicts with the dequantized kernel', async (dtype) => {
    const { artifacts } = await tinyModel();
    const parts = splitWeights(artifacts);
    expect(parts.map((p) => p.spec.name)).toEqual(['d1/kernel', 'd1/bias']);
    const kernel = decodeFloat32(parts[0]!)!;
    expect([...kernel]).toEqual([-0.1, 0, 0.5, 1, 0, 0.25].map(Math.fround));
    const q = quantizeTensor(kernel, dtype);
    const rebuilt = withWeights(artifacts, [quantizedWeight('d1/kernel', [3, 2], q), float32Weight('d1/bias', [2], decodeFloat32(parts[1]!)!)]);
    expect(new Uint8Array(rebuilt.weightData as ArrayBuffer).byteLength).toBe(6 * (dtype === 'uint8' ? 1 : 2) + 8);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(rebuilt));
    const [k, b] = loaded.getWeights();
    expect([...k!.dataSync()]).toEqual([...q.dequantized]);
    expect(Object.is(k!.dataSync()[1], 0)).toBe(true);
    expect([...b!.dataSync()]).toEqual([0.3, -0.2].map(Math.fround));
    const y = loaded.predict(tf.tensor2d([[1, 2, 3]])) as tfTypes.Tensor;
    const d = q.dequantized;
    const expected = [0, 1].map((j) => Math.fround(1 * d[j]! + 2 * d[2 + j]! + 3 * d[4 + j]! + [0.3, -0.2][j]!));
    const got = y.dataSync();
    expected.forEach((e, j) => expect(got[j]).toBeCloseTo(e, 5));
  });
});
