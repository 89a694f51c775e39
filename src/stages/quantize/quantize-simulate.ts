/**
 * Simulated int8 inference for the quantize stage (`activations: int8`): an
 * accuracy estimate of int8 deployment before exporting, computed with
 * float32 tfjs ops on fake-quantized values. It changes nothing in the
 * stored model.
 *
 * 1. Calibration: the float model runs on `samples` examples (a seeded
 *    subset of the calibration dataset), layer by layer, and records each
 *    quantized tensor's range: min/max, or the `percentile` / `100 -
 *    percentile` quantiles (linear interpolation, numpy's default).
 * 2. Evaluation: the model runs layer by layer again with the input and every
 *    layer output fake-quantized to asymmetric int8 with its calibrated range
 *    (widened to include 0, integer zero point), and the kernels (weights of
 *    rank >= 2) of the targeted layers fake-quantized to symmetric
 *    per-tensor int8. Biases and batch-norm parameters stay float, as int8
 *    runtimes keep biases in int32 and fold batch norm.
 *
 * Like an int8 runtime, layers that only move or select values (flatten,
 * reshape, dropout, max pooling, ...) keep their input's quantization, and a
 * layer whose every consumer is a BatchNormalization or Activation layer is
 * not quantized separately (they fuse into it).
 */
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { permutation, seededRandom } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import type { StageContext } from '../../plugin.js';
import { toTensors } from '../training/train-loop.js';
import { activationQuant, fakeQuantActivation, fakeQuantInt8Symmetric, overrideRead } from './quantize-fake-quant.js';
import type { ActivationQuant } from './quantize-fake-quant.js';
import { checkpoint } from '../training/abort-checkpoint.js';

export interface CalibrationConfig {
  data: string;
  samples: number;
  method: 'minmax' | 'percentile';
  percentile: number;
}

export interface Int8Result {
  /** Top-1 accuracy (percent) of the simulated int8 model on the eval dataset. */
  accuracy: number;
  /** Examples actually used for calibration. */
  samples: number;
  /** Calibrated range per quantized tensor: the model input (`input:<name>`) and layer outputs, in execution order. */
  ranges: Record<string, { min: number; max: number }>;
  /** Layers whose kernels were fake-quantized to int8. */
  int8Kernels: string[];
}

/** Layers that only move, select or drop values: an int8 runtime keeps their input's scale. */
const PASS_THROUGH = new Set([
  'Flatten',
  'Reshape',
  'Permute',
  'RepeatVector',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'AlphaDropout',
  'GaussianDropout',
  'GaussianNoise',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'Cropping2D',
  'ZeroPadding2D',
  'InputLayer',
]);
const FUSED_INTO_PREVIOUS = new Set(['BatchNormalization', 'Activation']);

/** Values kept per tensor for percentile calibration; beyond it, an even stride of them. */
const MAX_PERCENTILE_VALUES = 1 << 22;

interface LayerNode {
  layer: LayersModel['layers'][number];
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

/** The model's layer applications in execution order, and which of their outputs an int8 runtime quantizes. */
function plan(model: LayersModel): { steps: LayerNode[]; quantized: Set<LayerNode> } {
  const known = new Set(model.inputs.map((t) => t.id));
  const pending: LayerNode[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) pending.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors });
  }
  const steps: LayerNode[] = [];
  let progress = true;
  while (progress) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const n = pending[i]!;
      if (n.inputs.every((t) => known.has(t.id))) {
        steps.push(n);
        for (const t of n.outputs) known.add(t.id);
        pending.splice(i--, 1);
        progress = true;
      }
    }
  }
  // Nodes left pending belong to other graphs the layers take part in.
  for (const out of model.outputs) {
    if (!known.has(out.id)) throw new Error(`cannot simulate int8: the model's output ${out.name} is not computed by its layers in order`);
  }
  const consumers = new Map<number, LayerNode[]>();
  for (const s of steps) for (const t of s.inputs) consumers.set(t.id, [...(consumers.get(t.id) ?? []), s]);
  const quantized = new Set<LayerNode>();
  for (const s of steps) {
    if (PASS_THROUGH.has(s.layer.getClassName())) continue;
    const users = s.outputs.flatMap((t) => consumers.get(t.id) ?? []);
    const isModelOutput = s.outputs.some((t) => model.outputs.some((o) => o.id === t.id));
    if (!isModelOutput && users.length > 0 && users.every((u) => FUSED_INTO_PREVIOUS.has(u.layer.getClassName()))) continue;
    quantized.add(s);
  }
  return { steps, quantized };
}

/** Runs the model layer by layer on `xs`; `onTensor` may replace the model input and each quantized layer output. */
function walk(tf: Tf, model: LayersModel, p: ReturnType<typeof plan>, xs: Tensor, onTensor: (key: string, t: Tensor) => Tensor): Tensor {
  const values = new Map<number, Tensor>();
  // The input layer's name, not the symbolic tensor's: that carries a
  // process-wide counter suffix (`dense1_input_30`).
  model.inputs.forEach((s, i) => values.set(s.id, onTensor(`input:${s.sourceLayer?.name ?? i}`, xs)));
  for (const step of p.steps) {
    const ins = step.inputs.map((s) => values.get(s.id)!);
    const raw = step.layer.apply(ins.length === 1 ? ins[0]! : ins, { training: false }) as Tensor | Tensor[];
    const outs = Array.isArray(raw) ? raw : [raw];
    outs.forEach((t, i) => {
      const q = p.quantized.has(step) ? onTensor(outs.length === 1 ? step.layer.name : `${step.layer.name}:${i}`, t) : t;
      values.set(step.outputs[i]!.id, q);
    });
  }
  return values.get(model.outputs[0]!.id)!;
}

/**
 * Runs `model` on `xs` one layer application at a time, as the simulation
 * does; `onTensor(key, t)` sees (and may replace) the model input
 * (`input:<name>`) and every output an int8 runtime would quantize. With the
 * identity it computes what `model.predict` does.
 */
export function runLayerByLayer(tf: Tf, model: LayersModel, xs: Tensor, onTensor: (key: string, t: Tensor) => Tensor = (_k, t) => t): Tensor {
  return walk(tf, model, plan(model), xs, onTensor);
}

class RangeRecorder {
  private readonly minmax = new Map<string, { min: number; max: number }>();
  private readonly kept = new Map<string, { chunks: Float32Array[]; stride: number }>();

  constructor(
    private readonly method: CalibrationConfig['method'],
    private readonly totalExamples: number,
  ) {}

  record(key: string, t: Tensor): void {
    const v = t.dataSync() as Float32Array;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const r = this.minmax.get(key);
    this.minmax.set(key, r ? { min: Math.min(r.min, lo), max: Math.max(r.max, hi) } : { min: lo, max: hi });
    if (this.method !== 'percentile') return;
    let k = this.kept.get(key);
    if (!k) {
      const perExample = v.length / (t.shape[0] ?? 1);
      k = { chunks: [], stride: Math.max(1, Math.ceil((perExample * this.totalExamples) / MAX_PERCENTILE_VALUES)) };
      this.kept.set(key, k);
    }
    if (k.stride === 1) k.chunks.push(v.slice());
    else {
      const out = new Float32Array(Math.ceil(v.length / k.stride));
      for (let i = 0, j = 0; i < v.length; i += k.stride) out[j++] = v[i]!;
      k.chunks.push(out);
    }
  }

  ranges(percentile: number): Map<string, { min: number; max: number }> {
    if (this.method !== 'percentile') return this.minmax;
    const out = new Map<string, { min: number; max: number }>();
    for (const [key, k] of this.kept) {
      const all = new Float32Array(k.chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of k.chunks) {
        all.set(c, o);
        o += c.length;
      }
      all.sort();
      out.set(key, { min: quantile(all, 1 - percentile / 100), max: quantile(all, percentile / 100) });
    }
    return out;
  }
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
export function quantile(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function* chunks(indices: Int32Array | number[], size: number): Generator<number[]> {
  for (let i = 0; i < indices.length; i += size) yield Array.from(indices.slice(i, i + size));
}

/**
 * Calibrates on `calibration`, then evaluates the int8-simulated `model` on
 * `evalSet`. `int8Layers` names the layers whose kernels become int8. The
 * model's weights are untouched afterwards.
 */
export async function simulateInt8(
  ctx: StageContext,
  tf: Tf,
  model: LayersModel,
  opts: { calibration: Dataset; config: CalibrationConfig; evalSet: Dataset; int8Layers: ReadonlySet<string>; batchSize?: number },
): Promise<Int8Result> {
  const batchSize = opts.batchSize ?? 128;
  const p = plan(model);
  const count = Math.min(opts.config.samples, opts.calibration.count);
  const chosen = permutation(opts.calibration.count, seededRandom(ctx.seed + 3)).slice(0, count);
  const recorder = new RangeRecorder(opts.config.method, count);
  for (const idx of chunks(chosen, batchSize)) {
    await checkpoint(ctx.signal);
    const { xs, ys } = toTensors(tf, opts.calibration, idx);
    tf.tidy(() => {
      walk(tf, model, p, xs, (key, t) => {
        recorder.record(key, t);
        return t;
      });
    });
    tf.dispose([xs, ys]);
  }
  const ranges = recorder.ranges(opts.config.percentile);
  const quant = new Map<string, ActivationQuant | undefined>([...ranges].map(([k, r]) => [k, activationQuant(r.min, r.max)]));

  const undo: (() => void)[] = [];
  const constants: Tensor[] = [];
  const int8Kernels: string[] = [];
  for (const layer of model.layers) {
    if (!opts.int8Layers.has(layer.name)) continue;
    for (const w of layer.weights) {
      if (w.shape.length < 2 || w.dtype !== 'float32') continue;
      const q = fakeQuantInt8Symmetric(tf, w.read());
      constants.push(q);
      undo.push(overrideRead(w, () => q));
      if (!int8Kernels.includes(layer.name)) int8Kernels.push(layer.name);
    }
  }
  let correct = 0;
  try {
    const all = Array.from({ length: opts.evalSet.count }, (_, i) => i);
    for (const idx of chunks(all, batchSize)) {
      await checkpoint(ctx.signal);
      const { xs, ys } = toTensors(tf, opts.evalSet, idx);
      const hits = tf.tidy(() => {
        const out = walk(tf, model, p, xs, (key, t) => {
          const q = quant.get(key);
          return q ? fakeQuantActivation(tf, t, q) : t;
        });
        return tf.sum(tf.equal(tf.argMax(out, -1), tf.argMax(ys, -1)));
      });
      correct += (await hits.data())[0]!;
      tf.dispose([xs, ys, hits]);
    }
  } finally {
    undo.forEach((u) => u());
    tf.dispose(constants);
  }
  const rangeRecord: Record<string, { min: number; max: number }> = {};
  for (const [k, r] of ranges) rangeRecord[k] = r;
  return { accuracy: (100 * correct) / opts.evalSet.count, samples: count, ranges: rangeRecord, int8Kernels };
}
