/**
 * Fixed-point quantization for the quantize stage (`weights: fixed8 |
 * fixed16`, `activations: fixed8 | fixed16`): every value becomes
 * round(x * 2^n) / 2^n, an integer k over a power of two, as fixed-point DSP
 * and microcontroller code computes, instead of the affine (scale, min)
 * codes of the uint8 / uint16 modes.
 *
 * Format: Qm.n in ARM's notation: b = 1 + m + n total bits (8 or 16), one
 * sign bit, m integer bits, n fractional bits; k in [-2^(b-1), 2^(b-1) - 1],
 * so values in [-2^m, 2^m - 2^-n] with a step of 2^-n. m may be negative and
 * n larger than b - 1 (small weights: holds |x| < 1/8 with 8 bits).
 * - n chosen from the range (the default): the largest n for which no value
 *   of the tensor saturates, i.e. the finest step that still holds its
 *   extremes after rounding.
 * - n given (`fractionalBits`): values outside the range saturate to the
 *   end codes (counted in the metrics as `saturated`), never wrap around.
 * - Rounding: half to even (x * 2^n = 2.5 -> 2, -2.5 -> -2, 3.5 -> 4), the
 *   same as the affine modes (src/formats/weight-quantization.ts) and as
 *   tfjs's `round`, which simulates the activations; half-away-from-zero
 *   would differ only on exact ties. x * 2^n is exact in float64 for a
 *   float32 x, so the code is the exactly rounded one.
 *
 * Storage: the tfjs manifest has no signed-integer or power-of-two scheme,
 * and the packed container reads exactly the manifest's affine entries, so
 * a Qm.n tensor is stored as the affine uint8 / uint16 entry with `scale =
 * 2^-n` and `min = -2^(b-1) * 2^-n` (code = k + 2^(b-1)): stock tfjs decodes
 * code * scale + min = k * 2^-n, exactly (a <= 16-bit integer times a power
 * of two is a float32), and so does src/loader through the packed format,
 * with no change to either. n is recoverable from the file as -log2(scale);
 * the stage's metrics name the format (`Q1.6`) per tensor.
 *
 * Activations: simulated like the int8 simulation (quantize-simulate.ts),
 * layer by layer (`runLayerByLayer`, so the same tensors an int8 runtime
 * quantizes), on the stored model: the model input and every such layer
 * output rounded to Qm.n with n chosen from its range on the calibration
 * examples (min/max). Biases are fixed-point too when stored so.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { permutation, seededRandom } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { dequantizeAffine, roundHalfEven, type QuantizedTensor } from '../../formats/weight-quantization.js';
import type { StageContext } from '../../plugin.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import { toTensors } from '../training/train-loop.js';
import { runLayerByLayer } from './quantize-simulate.js';

/** Total bits of a fixed-point value, sign included. */
export type FixedPointBits = 8 | 16;

/** The `weights:` / `activations:` values of this mode, with their total bits. */
export const FIXED_POINT_MODES = { fixed8: 8, fixed16: 16 } as const;
export type FixedPointMode = keyof typeof FIXED_POINT_MODES;

export function isFixedPointMode(v: string): v is FixedPointMode {
  return v in FIXED_POINT_MODES;
}

/**
 * Bounds on n: beyond them 2^-n * k is no longer an exact normal float32
 * (the smallest is 2^-126) or the step is larger than any weight range needs.
 */
export const MIN_FRACTIONAL_BITS = -64;
export const MAX_FRACTIONAL_BITS = 100;

export interface FixedPointFormat {
  bits: FixedPointBits;
  /** n: the step is 2^-n. */
  fractionalBits: number;
}

/** `Qm.n` (m = bits - 1 - n; may be negative). */
export function formatName(f: FixedPointFormat): string {
  return `Q${f.bits - 1 - f.fractionalBits}.${f.fractionalBits}`;
}

/** Integer code range [-2^(b-1), 2^(b-1) - 1]. */
export function codeRange(bits: FixedPointBits): { lo: number; hi: number } {
  return { lo: -(2 ** (bits - 1)), hi: 2 ** (bits - 1) - 1 };
}

/** The saturating, half-to-even rounded code of x in Qm.n. */
export function fixedPointCode(x: number, f: FixedPointFormat): number {
  const { lo, hi } = codeRange(f.bits);
  const k = roundHalfEven(x * 2 ** f.fractionalBits);
  return k < lo ? lo : k > hi ? hi : k;
}

/**
 * The largest n for which [min, max] fits in `bits` without saturating
 * (after rounding); bits - 1 (Q0.b-1) for an all-zero range.
 * @throws RangeError for a non-finite bound.
 */
export function chooseFractionalBits(min: number, max: number, bits: FixedPointBits): number {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new RangeError(`cannot choose a fixed-point format for the range ${min} .. ${max}`);
  const { lo, hi } = codeRange(bits);
  const fits = (n: number) => roundHalfEven(max * 2 ** n) <= hi && roundHalfEven(min * 2 ** n) >= lo;
  const extent = Math.max(Math.abs(min), Math.abs(max));
  if (extent === 0) return bits - 1;
  // Start where 2^m just covers the extent, then step to the exact answer (rounding can move it by one).
  let n = Math.min(MAX_FRACTIONAL_BITS, Math.max(MIN_FRACTIONAL_BITS, bits - 1 - Math.ceil(Math.log2(extent))));
  while (n > MIN_FRACTIONAL_BITS && !fits(n)) n--;
  while (n < MAX_FRACTIONAL_BITS && fits(n + 1)) n++;
  return n;
}

export interface FixedPointTensor extends QuantizedTensor {
  format: FixedPointFormat;
  /** Values outside the format's range, stored as the end codes. */
  saturated: number;
}

/**
 * Quantizes float32 values to Qm.n with `bits` (n from the range unless
 * given) and encodes them as the equivalent affine manifest entry (see the
 * file comment). @throws RangeError for NaN or infinite values.
 */
export function quantizeFixedPoint(values: Float32Array, bits: FixedPointBits, fractionalBits?: number): FixedPointTensor {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`cannot store ${v} as a fixed-point value`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const format: FixedPointFormat = { bits, fractionalBits: fractionalBits ?? chooseFractionalBits(min, max, bits) };
  const { lo, hi } = codeRange(bits);
  const offset = -lo;
  const codes = bits === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  let saturated = 0;
  const scaleUp = 2 ** format.fractionalBits;
  for (let i = 0; i < values.length; i++) {
    const k = roundHalfEven(values[i]! * scaleUp);
    if (k < lo || k > hi) saturated++;
    codes[i] = (k < lo ? lo : k > hi ? hi : k) + offset;
  }
  const scale = 2 ** -format.fractionalBits;
  const storedMin = lo * scale;
  const dequantized = dequantizeAffine(codes, scale, storedMin);
  let maxError = 0;
  for (let i = 0; i < values.length; i++) maxError = Math.max(maxError, Math.abs(values[i]! - dequantized[i]!));
  const bytes = codes instanceof Uint8Array ? codes : littleEndian(codes);
  return {
    bytes,
    quantization: { dtype: bits === 8 ? 'uint8' : 'uint16', min: storedMin, scale, original_dtype: 'float32' },
    dequantized,
    maxError,
    format,
    saturated,
  };
}

/**
 * The Qm.n a stored affine entry is, if it is one: scale exactly 2^-n and
 * min exactly -2^(b-1) * 2^-n. An affine entry of the uint8 / uint16 modes
 * matches only when its range happened to be that power-of-two interval, and
 * then it is that fixed-point tensor, value for value.
 */
export function fixedPointFormatOf(q: { dtype?: string; scale?: number; min?: number } | undefined): FixedPointFormat | undefined {
  if (!q || (q.dtype !== 'uint8' && q.dtype !== 'uint16') || q.scale === undefined || q.min === undefined || !(q.scale > 0)) return undefined;
  const bits: FixedPointBits = q.dtype === 'uint8' ? 8 : 16;
  const n = -Math.log2(q.scale);
  if (!Number.isInteger(n) || n < MIN_FRACTIONAL_BITS || n > MAX_FRACTIONAL_BITS || q.min !== codeRange(bits).lo * q.scale) return undefined;
  return { bits, fractionalBits: n };
}

/** x rounded to Qm.n with tfjs ops (half to even, saturating): the activation simulation. */
export function fakeQuantFixedPoint(tf: Tf, x: Tensor, f: FixedPointFormat): Tensor {
  const { lo, hi } = codeRange(f.bits);
  return tf.tidy(() => tf.mul(tf.clipByValue(tf.round(tf.mul(x, 2 ** f.fractionalBits)), lo, hi), 2 ** -f.fractionalBits));
}

export interface FixedPointActivationResult {
  /** Top-1 accuracy (percent) with every quantized activation in its Qm.n. */
  accuracy: number;
  /** Calibration examples used. */
  samples: number;
  /** Per quantized tensor (`input:<name>` and layer outputs, in execution order): its format and calibrated range. */
  formats: Record<string, { format: string; min: number; max: number }>;
}

/**
 * Calibrates each activation's Qm.n on `samples` seeded examples of
 * `calibration`, then evaluates `model` (the stored model: its weights are
 * already what was written) on `evalSet` with every activation rounded.
 */
export async function simulateFixedPointActivations(
  ctx: StageContext,
  tf: Tf,
  model: LayersModel,
  opts: { bits: FixedPointBits; calibration: Dataset; samples: number; evalSet: Dataset; batchSize?: number },
): Promise<FixedPointActivationResult> {
  const batchSize = opts.batchSize ?? 128;
  const count = Math.min(opts.samples, opts.calibration.count);
  const chosen = Array.from(permutation(opts.calibration.count, seededRandom(ctx.seed + 3)).slice(0, count));
  const ranges = new Map<string, { min: number; max: number }>();
  for (let i = 0; i < chosen.length; i += batchSize) {
    await checkpoint(ctx.signal);
    const { xs, ys } = toTensors(tf, opts.calibration, chosen.slice(i, i + batchSize));
    tf.tidy(() => {
      runLayerByLayer(tf, model, xs, (key, t) => {
        const v = t.dataSync() as Float32Array;
        const r = ranges.get(key) ?? { min: 0, max: 0 };
        for (let j = 0; j < v.length; j++) {
          if (v[j]! < r.min) r.min = v[j]!;
          if (v[j]! > r.max) r.max = v[j]!;
        }
        ranges.set(key, r);
        return t;
      });
    });
    tf.dispose([xs, ys]);
  }
  const formats = new Map([...ranges].map(([k, r]) => [k, { bits: opts.bits, fractionalBits: chooseFractionalBits(r.min, r.max, opts.bits) }]));

  let correct = 0;
  for (let i = 0; i < opts.evalSet.count; i += batchSize) {
    await checkpoint(ctx.signal);
    const idx = Array.from({ length: Math.min(batchSize, opts.evalSet.count - i) }, (_, j) => i + j);
    const { xs, ys } = toTensors(tf, opts.evalSet, idx);
    const hits = tf.tidy(() => {
      const out = runLayerByLayer(tf, model, xs, (key, t) => {
        const f = formats.get(key);
        return f ? fakeQuantFixedPoint(tf, t, f) : t;
      });
      return tf.sum(tf.equal(tf.argMax(out, -1), tf.argMax(ys, -1)));
    });
    correct += (await hits.data())[0]!;
    tf.dispose([xs, ys, hits]);
  }
  const record: FixedPointActivationResult['formats'] = {};
  for (const [k, r] of ranges) record[k] = { format: formatName(formats.get(k)!), ...r };
  return { accuracy: (100 * correct) / opts.evalSet.count, samples: count, formats: record };
}

function littleEndian(codes: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(codes.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < codes.length; i++) view.setUint16(i * 2, codes[i]!, true);
  return bytes;
}
