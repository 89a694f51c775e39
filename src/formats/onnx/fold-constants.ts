/**
 * Graph normalisation before mapping: what PyTorch emits around the layers
 * that is arithmetic on constants (Shape -> Gather -> Unsqueeze -> Concat
 * feeding a Reshape, a Transpose of a weight, Constant nodes) is evaluated
 * here, once, so the mappers see a constant where the ONNX graph has a
 * small computation. Only integer and small float tensors pass through this
 * code; it is not a general ONNX interpreter.
 */
import type { OnnxTensor } from './onnx-tensor.js';

/** Ops this module can evaluate when all their inputs are constants. */
export const FOLDABLE_OPS = ['Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Transpose', 'Identity', 'Add', 'Sub', 'Mul', 'Div'] as const;

function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function like(t: OnnxTensor, dims: number[], data: ArrayLike<number>): OnnxTensor {
  return { name: t.name, dims, kind: t.kind, data: t.kind === 'float32' ? Float32Array.from(data) : Float64Array.from(data) };
}

export function intTensor(dims: number[], values: number[]): OnnxTensor {
  return { name: '', dims, kind: 'int', data: Float64Array.from(values) };
}

/** Gather along `axis` (negative indices count from the end). */
export function gather(t: OnnxTensor, idx: OnnxTensor, axis: number): OnnxTensor {
  const ax = axis < 0 ? axis + t.dims.length : axis;
  const outer = t.dims.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(ax + 1).reduce((a, b) => a * b, 1);
  const n = t.dims[ax]!;
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of idx.data) {
      const i = raw < 0 ? raw + n : raw;
      for (let k = 0; k < inner; k++) out.push(t.data[(o * n + i) * inner + k]!);
    }
  }
  return like(t, [...t.dims.slice(0, ax), ...idx.dims, ...t.dims.slice(ax + 1)], out);
}

export function unsqueeze(t: OnnxTensor, axes: number[]): OnnxTensor {
  const rank = t.dims.length + axes.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  const dims = [...t.dims];
  for (const a of norm) dims.splice(a, 0, 1);
  return like(t, dims, t.data);
}

export function squeeze(t: OnnxTensor, axes: number[] | undefined): OnnxTensor {
  const norm = axes?.map((a) => (a < 0 ? a + t.dims.length : a));
  return like(t, t.dims.filter((d, i) => (norm ? !norm.includes(i) : d !== 1)), t.data);
}

export function concat(ts: OnnxTensor[], axis: number): OnnxTensor {
  const first = ts[0]!;
  const ax = axis < 0 ? axis + first.dims.length : axis;
  const outer = first.dims.slice(0, ax).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const chunk = t.dims.slice(ax).reduce((a, b) => a * b, 1);
      for (let k = 0; k < chunk; k++) out.push(t.data[o * chunk + k]!);
    }
  }
  const dims = [...first.dims];
  dims[ax] = ts.reduce((s, t) => s + t.dims[ax]!, 0);
  return { name: '', dims, kind: ts.some((t) => t.kind === 'float32') ? 'float32' : 'int', data: ts.some((t) => t.kind === 'float32') ? Float32Array.from(out) : Float64Array.from(out) };
}

export function transpose(t: OnnxTensor, perm: number[] | undefined): OnnxTensor {
  const p = perm ?? t.dims.map((_, i) => t.dims.length - 1 - i);
  const dims = p.map((i) => t.dims[i]!);
  const inS = strides(t.dims);
  const outS = strides(dims);
  const out = new Array<number>(t.data.length);
  for (let j = 0; j < t.data.length; j++) {
    let rem = j;
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(rem / outS[d]!);
      rem -= c * outS[d]!;
      src += c * inS[p[d]!]!;
    }
    out[j] = t.data[src]!;
  }
  return like(t, dims, out);
}

/** Elementwise arithmetic with ONNX (numpy) broadcasting. */
export function binary(op: 'Add' | 'Sub' | 'Mul' | 'Div', a: OnnxTensor, b: OnnxTensor): OnnxTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...new Array<number>(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...new Array<number>(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => Math.max(d, pb[i]!));
  const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const os = strides(dims);
  const size = dims.reduce((x, y) => x * y, 1);
  const out = new Array<number>(size);
  const intDiv = op === 'Div' && a.kind === 'int' && b.kind === 'int';
  for (let j = 0; j < size; j++) {
    let rem = j;
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(rem / os[d]!);
      rem -= c * os[d]!;
      ia += c * sa[d]!;
      ib += c * sb[d]!;
    }
    const x = a.data[ia]!;
    const y = b.data[ib]!;
    out[j] = op === 'Add' ? x + y : op === 'Sub' ? x - y : op === 'Mul' ? x * y : intDiv ? Math.trunc(x / y) : x / y;
  }
  const kind = a.kind === 'float32' || b.kind === 'float32' ? 'float32' : 'int';
  return { name: '', dims, kind, data: kind === 'float32' ? Float32Array.from(out) : Float64Array.from(out) };
}
