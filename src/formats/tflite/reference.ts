/**
 * A reference executor of a TfliteGraph, one example at a time, in plain
 * TypeScript: the float32 graph in float64 arithmetic (calibration and the
 * float reference), the int8 graph with TFLite's integer semantics (int32
 * accumulation of (q - zero point) * weight, bias added in int32, one
 * rescale per output with round-half-away, fused activations as clamps).
 * This is modelpress's int8 simulation that the real interpreter is checked
 * against: the two may differ by one quantization step where TFLite's
 * fixed-point multiplier rounds differently from float64.
 */
import type { GraphOp, GraphTensor, TensorData, TfliteGraph } from './graph.js';
import { sizeOf } from './graph.js';

export type Values = Float64Array;

/** Sees every activation tensor's values as it is computed (calibration). */
export type TensorHook = (tensor: number, values: Values) => void;

/** TFLite's rounding for requantization: half away from zero. */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function quantized(t: GraphTensor): boolean {
  return t.dtype === 'int8';
}

/** Output spatial size and leading pad of a padding mode (TensorFlow's SAME / VALID). */
export function padGeometry(input: number, kernel: number, stride: number, padding: 'same' | 'valid'): { out: number; before: number } {
  if (padding === 'valid') return { out: Math.ceil((input - kernel + 1) / stride), before: 0 };
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + kernel - input, 0);
  return { out, before: Math.floor(total / 2) };
}

/**
 * Runs `graph` on one example. `input` holds the model input's values in its
 * own dtype (float32 values, or int8 codes for an int8 input); returns the
 * output tensors' values likewise (as float64 numbers).
 */
export function runGraph(graph: TfliteGraph, inputs: ArrayLike<number>[], hook?: TensorHook): Values[] {
  const values = new Map<number, Values>();
  graph.inputs.forEach((id, i) => {
    const v = Float64Array.from(inputs[i]!);
    values.set(id, v);
    hook?.(id, v);
  });
  const read = (id: number): Values => {
    const v = values.get(id);
    if (v) return v;
    const t = graph.tensors[id]!;
    if (!t.data) throw new Error(`tensor ${id} (${t.name}) is read before it is computed`);
    const c = Float64Array.from(t.data as ArrayLike<number>);
    values.set(id, c);
    return c;
  };
  for (const op of graph.ops) {
    const out = execute(graph, op, read);
    values.set(op.outputs[0]!, out);
    hook?.(op.outputs[0]!, out);
  }
  return graph.outputs.map((id) => values.get(id)!);
}

/** Requantizes an accumulator `acc` (real value acc * scale) to the output tensor, with the fused activation's clamp. */
function finishOutput(t: GraphTensor, real: number, activation: 'none' | 'relu' | 'relu6'): number {
  if (!quantized(t)) {
    if (activation === 'relu') return Math.max(real, 0);
    if (activation === 'relu6') return Math.min(Math.max(real, 0), 6);
    return real;
  }
  const s = t.quant!.scale[0]!;
  const zp = t.quant!.zeroPoint[0]!;
  let lo = -128;
  let hi = 127;
  if (activation === 'relu' || activation === 'relu6') lo = Math.max(lo, zp);
  if (activation === 'relu6') hi = Math.min(hi, zp + roundAway(6 / s));
  return Math.min(hi, Math.max(lo, roundAway(real / s) + zp));
}

/** Dequantized value of element `i` of an activation tensor. */
function deq(t: GraphTensor, v: Values, i: number): number {
  return quantized(t) ? t.quant!.scale[0]! * (v[i]! - t.quant!.zeroPoint[0]!) : v[i]!;
}

function quantizeTo(t: GraphTensor, real: number): number {
  return quantized(t) ? Math.min(127, Math.max(-128, roundAway(real / t.quant!.scale[0]!) + t.quant!.zeroPoint[0]!)) : real;
}

function execute(graph: TfliteGraph, op: GraphOp, read: (id: number) => Values): Values {
  const T = graph.tensors;
  const xT = T[op.inputs[0]!]!;
  const yT = T[op.outputs[0]!]!;
  const x = read(op.inputs[0]!);
  const y = new Float64Array(sizeOf(yT.shape));
  const o = op.options;
  const xzp = quantized(xT) ? xT.quant!.zeroPoint[0]! : 0;
  const xs = quantized(xT) ? xT.quant!.scale[0]! : 1;
  switch (op.op) {
    case 'FULLY_CONNECTED': {
      const wT = T[op.inputs[1]!]!;
      const w = read(op.inputs[1]!);
      const b = read(op.inputs[2]!);
      const [nout, nin] = wT.shape as [number, number];
      const ws = wT.quant?.scale[0] ?? 1;
      for (let j = 0; j < nout; j++) {
        let acc = 0;
        for (let i = 0; i < nin; i++) acc += (x[i]! - xzp) * w[j * nin + i]!;
        y[j] = finishOutput(yT, (acc + b[j]!) * xs * ws, o.kind === 'fc' ? o.activation : 'none');
      }
      return y;
    }
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      if (o.kind !== 'conv' && o.kind !== 'depthwise') throw new Error('bad options');
      const wT = T[op.inputs[1]!]!;
      const w = read(op.inputs[1]!);
      const b = read(op.inputs[2]!);
      const [, ih, iw, ic] = xT.shape as [number, number, number, number];
      const [, oh, ow, oc] = yT.shape as [number, number, number, number];
      const depthwise = o.kind === 'depthwise';
      const [kh, kw] = [wT.shape[1]!, wT.shape[2]!];
      const ph = padGeometry(ih, kh, o.strides[0], o.padding).before;
      const pw = padGeometry(iw, kw, o.strides[1], o.padding).before;
      const mult = depthwise ? o.multiplier : 1;
      for (let r = 0; r < oh; r++)
        for (let c = 0; c < ow; c++)
          for (let k = 0; k < oc; k++) {
            let acc = 0;
            for (let u = 0; u < kh; u++) {
              const yy = r * o.strides[0] - ph + u;
              if (yy < 0 || yy >= ih) continue;
              for (let v = 0; v < kw; v++) {
                const xx = c * o.strides[1] - pw + v;
                if (xx < 0 || xx >= iw) continue;
                const base = (yy * iw + xx) * ic;
                if (depthwise) acc += (x[base + Math.floor(k / mult)]! - xzp) * w[(u * kw + v) * oc + k]!;
                else for (let i = 0; i < ic; i++) acc += (x[base + i]! - xzp) * w[((k * kh + u) * kw + v) * ic + i]!;
              }
            }
            const ws = wT.quant ? wT.quant.scale[wT.quant.scale.length > 1 ? k : 0]! : 1;
            y[(r * ow + c) * oc + k] = finishOutput(yT, (acc + b[k]!) * xs * ws, o.activation);
          }
      return y;
    }
    case 'MAX_POOL_2D':
    case 'AVERAGE_POOL_2D': {
      if (o.kind !== 'pool') throw new Error('bad options');
      const [, ih, iw, ch] = xT.shape as [number, number, number, number];
      const [, oh, ow] = yT.shape as [number, number, number, number];
      const ph = padGeometry(ih, o.size[0], o.strides[0], o.padding).before;
      const pw = padGeometry(iw, o.size[1], o.strides[1], o.padding).before;
      for (let r = 0; r < oh; r++)
        for (let c = 0; c < ow; c++)
          for (let k = 0; k < ch; k++) {
            let m = -Infinity;
            let sum = 0;
            let n = 0;
            for (let u = 0; u < o.size[0]; u++) {
              const yy = r * o.strides[0] - ph + u;
              if (yy < 0 || yy >= ih) continue;
              for (let v = 0; v < o.size[1]; v++) {
                const xx = c * o.strides[1] - pw + v;
                if (xx < 0 || xx >= iw) continue;
                const val = x[(yy * iw + xx) * ch + k]!;
                m = Math.max(m, val);
                sum += val;
                n++;
              }
            }
            // int8 average pooling keeps the input's scale: the mean of codes, rounded half away from zero.
            y[(r * ow + c) * ch + k] = op.op === 'MAX_POOL_2D' ? m : quantized(yT) ? roundAway(sum / n) : sum / n;
          }
      return y;
    }
    case 'MEAN': {
      const [, ih, iw, ch] = xT.shape as [number, number, number, number];
      for (let k = 0; k < ch; k++) {
        let sum = 0;
        for (let i = 0; i < ih * iw; i++) sum += deq(xT, x, i * ch + k);
        y[k] = quantizeTo(yT, sum / (ih * iw));
      }
      return y;
    }
    case 'RESHAPE':
      y.set(x);
      return y;
    case 'PAD': {
      const p = read(op.inputs[1]!);
      const [, ih, iw, ch] = xT.shape as [number, number, number, number];
      const [, , ow] = yT.shape as [number, number, number, number];
      y.fill(xzp);
      for (let r = 0; r < ih; r++) for (let c = 0; c < iw; c++) for (let k = 0; k < ch; k++) y[((r + p[2]!) * ow + c + p[4]!) * ch + k] = x[(r * iw + c) * ch + k]!;
      return y;
    }
    case 'SOFTMAX': {
      const beta = o.kind === 'softmax' ? o.beta : 1;
      const n = y.length;
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, deq(xT, x, i));
      let sum = 0;
      const e = new Float64Array(n);
      for (let i = 0; i < n; i++) sum += e[i] = Math.exp(beta * (deq(xT, x, i) - m));
      for (let i = 0; i < n; i++) y[i] = quantizeTo(yT, e[i]! / sum);
      return y;
    }
    case 'ADD': {
      const bT = T[op.inputs[1]!]!;
      const b = read(op.inputs[1]!);
      for (let i = 0; i < y.length; i++) {
        const real = deq(xT, x, i) + deq(bT, b, i);
        y[i] = finishOutput(yT, real, o.kind === 'add' ? o.activation : 'none');
      }
      return y;
    }
    case 'CONCATENATION': {
      if (o.kind !== 'concat') throw new Error('bad options');
      const shape = yT.shape;
      const outer = sizeOf(shape.slice(0, o.axis));
      const innerOut = sizeOf(shape.slice(o.axis));
      let offset = 0;
      for (const id of op.inputs) {
        const t = T[id]!;
        const v = read(id);
        const inner = sizeOf(t.shape.slice(o.axis));
        for (let a = 0; a < outer; a++) for (let i = 0; i < inner; i++) y[a * innerOut + offset + i] = quantizeTo(yT, deq(t, v, a * inner + i));
        offset += inner;
      }
      return y;
    }
    case 'QUANTIZE':
      for (let i = 0; i < y.length; i++) y[i] = quantizeTo(yT, deq(xT, x, i));
      return y;
    case 'DEQUANTIZE':
      for (let i = 0; i < y.length; i++) y[i] = deq(xT, x, i);
      return y;
  }
}

/** Values of a constant, as numbers. */
export function constantValues(data: TensorData): number[] {
  return Array.from(data as ArrayLike<number>);
}
