/**
 * Full-integer int8 quantization of a float TfliteGraph, following the TFLite
 * quantization spec:
 * - weights int8 symmetric (zero point 0, codes -127..127): per output
 *   channel for CONV_2D (axis 0 of OHWI) and DEPTHWISE_CONV_2D (axis 3 of
 *   [1, h, w, c]), per tensor for FULLY_CONNECTED;
 * - biases int32, scale = input scale x weight scale (per channel), zero point 0;
 * - activations int8 asymmetric per tensor, from ranges calibrated on
 *   example inputs (min/max, or the percentile / 100 - percentile
 *   quantiles), widened to include 0 so that zero padding and relu are exact;
 * - ops that only move values (RESHAPE, MAX_POOL_2D, AVERAGE_POOL_2D, PAD)
 *   keep their input's parameters, CONCATENATION's inputs share its output's
 *   (requantized by a QUANTIZE op where they differ), SOFTMAX outputs scale
 *   1/256, zero point -128;
 * - the model's inputs and outputs int8, or float32 with a QUANTIZE /
 *   DEQUANTIZE at the boundary.
 * Scales are computed in float64 and stored as float32, as TFLite reads them.
 */
import type { GraphOp, GraphTensor, TensorQuant, TfliteGraph } from './graph.js';
import { sizeOf } from './graph.js';
import { runGraph } from './reference.js';

/** How activation ranges are calibrated. */
export interface CalibrationOptions {
  /** `minmax`: the observed range; `percentile`: the percentile / 100 - percentile quantiles. Default: minmax. */
  method?: 'minmax' | 'percentile';
  /** For `percentile`, in (50, 100]. Default: 99.99. */
  percentile?: number;
}

export interface QuantizeOptions extends CalibrationOptions {
  /** dtype of the model's inputs and outputs. Default: int8 (the whole model runs in int8). */
  io?: 'int8' | 'float32';
}

export interface Range {
  min: number;
  max: number;
}

/** Values kept per tensor for percentile calibration; beyond it, an even stride of them. */
const MAX_KEPT = 1 << 21;

/** Int8 activation parameters of a calibrated range (range widened to include 0, integer zero point). */
export function activationParams(range: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: -128 };
  const scale = Math.fround((hi - lo) / 255);
  return { scale, zeroPoint: Math.min(127, Math.max(-128, Math.round(-128 - lo / scale))) };
}

/**
 * Symmetric int8 scales of `w` along `axis` of `shape` (one scale per index
 * of that axis; `axis` undefined: one for the tensor): max |w| / 127, and 1
 * for an all-zero channel (TFLite requires positive scales).
 */
export function symmetricScales(w: Float32Array, shape: readonly number[], axis: number | undefined): number[] {
  const channels = axis === undefined ? 1 : shape[axis]!;
  const inner = axis === undefined ? 1 : sizeOf(shape.slice(axis + 1));
  const max = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = axis === undefined ? 0 : Math.floor(i / inner) % channels;
    const a = Math.abs(w[i]!);
    if (a > max[c]!) max[c] = a;
  }
  return Array.from(max, (m) => (m > 0 ? Math.fround(m / 127) : 1));
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Ranges of every activation tensor of the float `graph` over `examples`. */
export function calibrate(graph: TfliteGraph, examples: ArrayLike<number>[][], options: CalibrationOptions = {}): Map<number, Range> {
  const method = options.method ?? 'minmax';
  const percentile = options.percentile ?? 99.99;
  if (method !== 'minmax' && method !== 'percentile') throw new TypeError(`Expected method to be 'minmax' or 'percentile', got ${JSON.stringify(method)}`);
  if (!(percentile > 50 && percentile <= 100)) throw new TypeError(`Expected percentile to be in (50, 100], got ${percentile}`);
  const ranges = new Map<number, Range>();
  const kept = new Map<number, number[]>();
  for (const ex of examples) {
    runGraph(graph, ex, (id, v) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < v.length; i++) {
        if (v[i]! < lo) lo = v[i]!;
        if (v[i]! > hi) hi = v[i]!;
      }
      const r = ranges.get(id);
      ranges.set(id, r ? { min: Math.min(r.min, lo), max: Math.max(r.max, hi) } : { min: lo, max: hi });
      if (method === 'percentile') {
        const k = kept.get(id) ?? [];
        const stride = Math.max(1, Math.ceil((v.length * examples.length) / MAX_KEPT));
        for (let i = 0; i < v.length; i += stride) k.push(v[i]!);
        kept.set(id, k);
      }
    });
  }
  if (method === 'percentile') {
    for (const [id, k] of kept) {
      const sorted = Float64Array.from(k).sort();
      ranges.set(id, { min: quantile(sorted, 1 - percentile / 100), max: quantile(sorted, percentile / 100) });
    }
  }
  return ranges;
}

const PASS_THROUGH = new Set(['RESHAPE', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'PAD']);

/**
 * The int8 graph of the float `graph` with activation `ranges` (from
 * calibrate). The float graph is not changed.
 */
export function quantizeGraph(graph: TfliteGraph, ranges: Map<number, Range>, options: QuantizeOptions = {}): TfliteGraph {
  const io = options.io ?? 'int8';
  if (io !== 'int8' && io !== 'float32') throw new TypeError(`Expected io to be 'int8' or 'float32', got ${JSON.stringify(io)}`);
  const tensors: GraphTensor[] = graph.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  const ops: GraphOp[] = [];
  const q = (id: number): TensorQuant => tensors[id]!.quant!;
  const setActivation = (id: number, p: { scale: number; zeroPoint: number }): void => {
    tensors[id] = { ...tensors[id]!, dtype: 'int8', quant: { scale: [p.scale], zeroPoint: [p.zeroPoint], dimension: 0 } };
  };
  const rangeOf = (id: number): Range => ranges.get(id) ?? { min: 0, max: 0 };
  for (const id of graph.inputs) setActivation(id, activationParams(rangeOf(id)));

  for (const op of graph.ops) {
    const out = op.outputs[0]!;
    const copy: GraphOp = { ...op, inputs: [...op.inputs], outputs: [...op.outputs] };
    if (PASS_THROUGH.has(op.op)) {
      const p = q(op.inputs[0]!);
      setActivation(out, { scale: p.scale[0]!, zeroPoint: p.zeroPoint[0]! });
    } else if (op.op === 'SOFTMAX') {
      setActivation(out, { scale: 1 / 256, zeroPoint: -128 });
    } else if (op.op === 'CONCATENATION') {
      // Union of the inputs' and the output's ranges: int8 concatenation needs one scale for all.
      const all = [out, ...op.inputs].map(rangeOf);
      const p = activationParams({ min: Math.min(...all.map((r) => r.min)), max: Math.max(...all.map((r) => r.max)) });
      setActivation(out, p);
      copy.inputs = op.inputs.map((id) => {
        const pin = q(id);
        if (pin.scale[0] === p.scale && pin.zeroPoint[0] === p.zeroPoint) return id;
        const r = tensors.push({ name: `${tensors[id]!.name}/requantized`, shape: [...tensors[id]!.shape], dtype: 'int8', quant: { scale: [p.scale], zeroPoint: [p.zeroPoint], dimension: 0 } }) - 1;
        ops.push({ op: 'QUANTIZE', inputs: [id], outputs: [r], options: { kind: 'none' }, layer: op.layer });
        return r;
      });
    } else {
      setActivation(out, activationParams(rangeOf(out)));
    }
    if (op.op === 'FULLY_CONNECTED' || op.op === 'CONV_2D' || op.op === 'DEPTHWISE_CONV_2D') {
      const inScale = q(op.inputs[0]!).scale[0]!;
      const [wId, bId] = [op.inputs[1]!, op.inputs[2]!];
      const wT = graph.tensors[wId]!;
      const axis = op.op === 'CONV_2D' ? 0 : op.op === 'DEPTHWISE_CONV_2D' ? 3 : undefined;
      const w = wT.data as Float32Array;
      const scales = symmetricScales(w, wT.shape, axis);
      const inner = axis === undefined ? 1 : sizeOf(wT.shape.slice(axis + 1));
      const channels = scales.length;
      const codes = new Int8Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const s = scales[axis === undefined ? 0 : Math.floor(i / inner) % channels]!;
        codes[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
      }
      tensors[wId] = { ...wT, dtype: 'int8', data: codes, quant: { scale: scales, zeroPoint: scales.map(() => 0), dimension: axis ?? 0 } };
      const b = graph.tensors[bId]!.data as Float32Array;
      const bScales = Array.from(b, (_, c) => inScale * scales[channels > 1 ? c : 0]!);
      const bCodes = Int32Array.from(b, (v, c) => Math.round(v / bScales[c]!));
      tensors[bId] = {
        ...graph.tensors[bId]!,
        dtype: 'int32',
        data: bCodes,
        quant: channels > 1 ? { scale: bScales, zeroPoint: bScales.map(() => 0), dimension: 0 } : { scale: [bScales[0] ?? 1], zeroPoint: [0], dimension: 0 },
      };
    }
    ops.push(copy);
  }

  let inputs = [...graph.inputs];
  let outputs = [...graph.outputs];
  if (io === 'float32') {
    inputs = graph.inputs.map((id) => {
      const f = tensors.push({ name: `${tensors[id]!.name}/float`, shape: [...tensors[id]!.shape], dtype: 'float32' }) - 1;
      ops.unshift({ op: 'QUANTIZE', inputs: [f], outputs: [id], options: { kind: 'none' }, layer: tensors[id]!.name });
      return f;
    });
    outputs = graph.outputs.map((id) => {
      const f = tensors.push({ name: `${tensors[id]!.name}/float`, shape: [...tensors[id]!.shape], dtype: 'float32' }) - 1;
      ops.push({ op: 'DEQUANTIZE', inputs: [id], outputs: [f], options: { kind: 'none' }, layer: tensors[id]!.name });
      return f;
    });
  }
  return { tensors, ops, inputs, outputs };
}
