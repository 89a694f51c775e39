/**
 * The import check: the tfjs model and ONNX Runtime on the same inputs. The
 * tolerance is the issue's: max |difference| <= 1e-4 relative to the output
 * scale (max |reference|, at least 1), and the same argmax per row for
 * classifier-shaped outputs.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import { mulberry32 } from '../../data/dataset.js';
import type { OnnxImportResult } from './import-onnx.js';
import type { NamedTensor } from './onnx-runtime.js';
import { runOnnxRuntime } from './onnx-runtime.js';

/** Relative tolerance of an import or export check. */
export const RELATIVE_TOLERANCE = 1e-4;

export interface OutputComparison {
  name: string;
  dims: number[];
  maxAbsDiff: number;
  /** max |reference|, floored at 1 so outputs near zero are compared absolutely. */
  scale: number;
  relDiff: number;
  /** Rows whose argmax differ (rank-2 outputs), else 0. */
  argmaxMismatches: number;
  ok: boolean;
}

/** NCHW data -> NHWC (and back with `inverse`). */
export function nchwToNhwc(data: Float32Array, [n, c, h, w]: number[], inverse = false): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++) {
          const nchw = ((b * c! + ch) * h! + y) * w! + x;
          const nhwc = ((b * h! + y) * w! + x) * c! + ch;
          if (inverse) out[nchw] = data[nhwc]!;
          else out[nhwc] = data[nchw]!;
        }
  return out;
}

/** Runs the imported tfjs model on ONNX-layout inputs; returns ONNX-layout outputs. */
export function runImported(tf: Tf, imported: OnnxImportResult, feeds: Record<string, NamedTensor>): Record<string, NamedTensor> {
  const xs = imported.inputs.map((info) => {
    const t = feeds[info.name];
    if (!t) throw new Error(`no feed for input ${info.name}`);
    if (info.layout === 'nhwc') {
      const [n, c, h, w] = t.dims as [number, number, number, number];
      return tf.tensor(nchwToNhwc(t.data, t.dims), [n, h, w, c]);
    }
    return tf.tensor(t.data, t.dims);
  });
  const ys = imported.model.predict(xs.length === 1 ? xs[0]! : xs) as Tensor | Tensor[];
  const list = Array.isArray(ys) ? ys : [ys];
  const res: Record<string, NamedTensor> = {};
  imported.outputs.forEach((info, i) => {
    const y = list[i]!;
    const data = y.dataSync() as Float32Array;
    if (info.layout === 'nhwc') {
      const [n, h, w, c] = y.shape as [number, number, number, number];
      res[info.name] = { dims: [n, c, h, w], data: nchwToNhwc(data, [n, c, h, w], true) };
    } else {
      res[info.name] = { dims: [...y.shape], data: Float32Array.from(data) };
    }
  });
  tf.dispose([...xs, ...list]);
  return res;
}

export function compareOutput(name: string, ref: NamedTensor, got: NamedTensor): OutputComparison {
  const sameDims = ref.dims.length === got.dims.length && ref.dims.every((d, i) => d === got.dims[i]);
  let maxAbsDiff = sameDims ? 0 : Infinity;
  let scale = 1;
  for (let i = 0; i < ref.data.length; i++) scale = Math.max(scale, Math.abs(ref.data[i]!));
  if (sameDims) for (let i = 0; i < ref.data.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref.data[i]! - got.data[i]!) || (Number.isNaN(got.data[i]!) ? Infinity : 0));
  let argmaxMismatches = 0;
  if (sameDims && ref.dims.length === 2 && ref.dims[1]! > 1) {
    const [rows, cols] = ref.dims as [number, number];
    for (let r = 0; r < rows; r++) {
      const am = (d: Float32Array): number => {
        let best = 0;
        for (let c = 1; c < cols; c++) if (d[r * cols + c]! > d[r * cols + best]!) best = c;
        return best;
      };
      // A tie within the tolerance is not a disagreement.
      const a = am(ref.data);
      const b = am(got.data);
      if (a !== b && Math.abs(ref.data[r * cols + a]! - ref.data[r * cols + b]!) > RELATIVE_TOLERANCE * scale) argmaxMismatches++;
    }
  }
  const relDiff = maxAbsDiff / scale;
  return { name, dims: ref.dims, maxAbsDiff, scale, relDiff, argmaxMismatches, ok: relDiff <= RELATIVE_TOLERANCE && argmaxMismatches === 0 };
}

/** Seeded uniform [-1, 1) feeds for every graph input (ONNX layout), batch `batch`. */
export function randomFeeds(imported: OnnxImportResult, seed: number, batch: number): Record<string, NamedTensor> {
  const rnd = mulberry32(seed);
  const feeds: Record<string, NamedTensor> = {};
  for (const info of imported.inputs) {
    const dims = [batch, ...info.shape.slice(1)];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rnd() * 2 - 1;
    feeds[info.name] = { dims, data };
  }
  return feeds;
}

/**
 * Runs both on the same feeds (random when not given). `batch` defaults to
 * the file's batch dim when it is fixed, else 4.
 */
export async function compareWithOnnxRuntime(
  tf: Tf,
  bytes: Uint8Array,
  imported: OnnxImportResult,
  options: { seed?: number; batch?: number; feeds?: Record<string, NamedTensor> } = {},
): Promise<OutputComparison[]> {
  const fileBatch = imported.inputs[0]?.shape[0];
  const batch = options.batch ?? (fileBatch !== undefined && fileBatch > 0 ? fileBatch : 4);
  const feeds = options.feeds ?? randomFeeds(imported, options.seed ?? 1, batch);
  const ref = await runOnnxRuntime(bytes, feeds);
  const got = runImported(tf, imported, feeds);
  return imported.outputs.map((o) => compareOutput(o.name, ref[o.name]!, got[o.name]!));
}

/**
 * The export check: a tfjs model and its .onnx export (export-onnx.ts: NCHW
 * inputs `input_k`, outputs `output_k`) on the same random inputs.
 */
export async function compareExportWithOnnxRuntime(tf: Tf, model: OnnxImportResult['model'], bytes: Uint8Array, options: { seed?: number; batch?: number } = {}): Promise<OutputComparison[]> {
  const nchwInput = model.layers.some((l) => l.getClassName() === 'Permute' && (l.getConfig() as { dims?: number[] }).dims?.join() === '2,3,1');
  const view: OnnxImportResult = {
    model,
    mappings: [],
    inputs: model.inputs.map((t, k) => {
      const s = t.shape.slice(1) as number[];
      if (s.length === 3 && !nchwInput) return { name: `input_${k}`, shape: [-1, s[2]!, s[0]!, s[1]!], layout: 'nhwc' as const };
      return { name: `input_${k}`, shape: [-1, ...s], layout: s.length === 3 ? ('nchw' as const) : ('plain' as const) };
    }),
    outputs: model.outputs.map((t, k) => {
      const s = t.shape.slice(1) as number[];
      return s.length === 3 ? { name: `output_${k}`, shape: [-1, s[2]!, s[0]!, s[1]!], layout: 'nhwc' as const } : { name: `output_${k}`, shape: [-1, ...s], layout: 'plain' as const };
    }),
    opset: 13,
    producer: 'modelpress',
  };
  return compareWithOnnxRuntime(tf, bytes, view, { seed: options.seed ?? 1, batch: options.batch ?? 4 });
}
