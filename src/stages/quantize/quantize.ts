/**
 * Built-in stage `quantize`: stores the upstream model's weights quantized in
 * the tfjs weights-manifest format (uint8 / uint16 affine, float16, or
 * fixed-point Qm.n: quantize-fixed-point.ts), which
 * stock `tf.loadLayersModel` dequantizes on load; optionally fine-tunes with
 * fake-quantized weights first (quantization-aware training), and optionally
 * estimates the accuracy of int8 or fixed-point deployment by simulating its
 * activations.
 *
 * The weight bytes and manifest entries come from
 * src/formats/weight-quantization.ts (plain typed-array code, so identical
 * on every backend); the artifact is written with `writeModelArtifacts`, the
 * same shard layout as every other stage's output. model.json keeps the
 * upstream topology untouched: only the manifest's entries and the shard
 * bytes change — except with `foldBatchNorm: true`, which folds the
 * BatchNormalization layers into the layers before them first
 * (src/formats/fold-batch-norm.ts) and writes the smaller graph.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { readModelArtifacts, writeModelArtifacts } from '../../engine/model-io.js';
import { foldBatchNorm } from '../../formats/fold-batch-norm.js';
import type { FoldReport } from '../../formats/fold-batch-norm.js';
import {
  decodeFloat32,
  float32Weight,
  quantizedWeight,
  quantizeRows,
  quantizeTensor,
  rowQuantizedWeight,
  splitWeights,
  withWeights,
} from '../../formats/weight-quantization.js';
import type { QuantizationDtype, RowQuantizedManifestEntry, StoredWeight } from '../../formats/weight-quantization.js';
import type { Json } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { FinetuneConfig } from '../training/finetune.js';
import { finetuneSchema } from '../training/finetune.js';
import { selectLayers, targetingSchema } from '../training/layer-targeting.js';
import {
  FIXED_POINT_MODES,
  formatName,
  isFixedPointMode,
  MAX_FRACTIONAL_BITS,
  MIN_FRACTIONAL_BITS,
  quantizeFixedPoint,
  simulateFixedPointActivations,
} from './quantize-fixed-point.js';
import type { FixedPointMode } from './quantize-fixed-point.js';
import { isEmbeddingTable } from '../training/compressible-weights.js';
import { quantizationAwareFinetune } from './quantize-qat.js';
import { simulateInt8 } from './quantize-simulate.js';
import type { CalibrationConfig } from './quantize-simulate.js';
import { evaluateAccuracy } from '../training/train-loop.js';
import { checkpoint } from '../training/abort-checkpoint.js';

export type WeightStorage = QuantizationDtype | FixedPointMode | 'none';

export interface QuantizeLayerSettings {
  weights: WeightStorage;
  minSize: number;
  /** Fixed-point modes: n of Qm.n; absent = chosen per tensor from its range. */
  fractionalBits?: number;
}

/** How uint8/uint16 embedding tables get their affine range: one per token row, or one for the table. */
export type EmbeddingGranularity = 'per-row' | 'per-tensor';

export interface QuantizeConfig extends QuantizeLayerSettings {
  foldBatchNorm: boolean;
  embeddings: EmbeddingGranularity;
  layers?: Record<string, Partial<QuantizeLayerSettings>>;
  exclude?: string[];
  activations: 'none' | 'int8' | FixedPointMode;
  calibration: CalibrationConfig;
  eval?: string;
  finetune: FinetuneConfig;
}

/** Defaults of `weights` and `minSize`, exported for `modelpress inspect` (what a plain `uses: quantize` does). */
export const DEFAULT_QUANTIZE_WEIGHTS = 'uint8' as const;
export const DEFAULT_QUANTIZE_MIN_SIZE = 256;

const WEIGHTS_DESCRIPTION =
  'How weights are stored: `uint8` / `uint16` (per-tensor affine, value = q * scale + min, 0.0 exact), `float16` (IEEE half), `fixed8` / `fixed16` (fixed-point Qm.n with 8 / 16 total bits: value = k / 2^n, saturating; stored as the equivalent uint8 / uint16 affine entry, so stock tfjs loads it), or `none` (left as they are).';
const FRACTIONAL_BITS_DESCRIPTION =
  '`fixed8` / `fixed16`: n, the fractional bits of Qm.n (step 2^-n; m = bits - 1 - n). Values outside the range saturate. Default: per tensor, the largest n that holds its range.';
const WEIGHT_MODES = ['uint8', 'uint16', 'float16', ...Object.keys(FIXED_POINT_MODES), 'none'];
const MIN_SIZE_DESCRIPTION = 'Tensors with fewer elements than this (biases, batch-norm parameters, tiny kernels) stay float32.';

const layerSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Settings for the matching layers; keys left out take the top-level values.',
  properties: {
    weights: { enum: WEIGHT_MODES, description: `${WEIGHTS_DESCRIPTION} Default: the top-level \`weights\`.` },
    minSize: { type: 'integer', minimum: 0, description: `${MIN_SIZE_DESCRIPTION} Default: the top-level \`minSize\`.` },
    fractionalBits: { type: 'integer', minimum: MIN_FRACTIONAL_BITS, maximum: MAX_FRACTIONAL_BITS, description: `${FRACTIONAL_BITS_DESCRIPTION} Default: the top-level \`fractionalBits\`.` },
  },
};

export const quantizeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    weights: { enum: WEIGHT_MODES, default: DEFAULT_QUANTIZE_WEIGHTS, description: WEIGHTS_DESCRIPTION },
    fractionalBits: { type: 'integer', minimum: MIN_FRACTIONAL_BITS, maximum: MAX_FRACTIONAL_BITS, description: FRACTIONAL_BITS_DESCRIPTION },
    minSize: { type: 'integer', minimum: 0, default: DEFAULT_QUANTIZE_MIN_SIZE, description: `${MIN_SIZE_DESCRIPTION} 0 quantizes every tensor, as the tfjs converter does.` },
    ...targetingSchema(layerSettingsSchema),
    embeddings: {
      enum: ['per-row', 'per-tensor'],
      // per-tensor by default: a per-row table stays float32 in the tfjs directory (plus its
      // row scales in model.json), so that directory grows; only the packed file profits.
      default: 'per-tensor',
      description:
        'uint8/uint16 Embedding tables (`<layer>/embeddings`): `per-tensor` (default) one range for the table, as for other weights, stored as uint8/uint16 in the tfjs directory too; `per-row` gives each token row its own min and scale (rows differ in norm by 10x and more, and one range for the table wastes most codes of the small rows), for the packed file only. Stock tfjs manifests have no per-row scales: the model directory stores such a table as float32 values on the per-row grid (loads anywhere, same outputs), and `export` packs it as 1- or 2-byte codes plus 17-18 bytes per row (min, scale, zero point; packed format v3). The directory is then larger than with per-tensor (measured on examples/text: 654,914 bytes vs 539,931 float32), so choose per-row when you ship the packed file.',
    },
    activations: {
      enum: ['none', 'int8', ...Object.keys(FIXED_POINT_MODES)],
      default: 'none',
      description:
        '`int8`: estimate the accuracy of int8 deployment (int8 activations with calibrated ranges, int8 kernels) on `eval`, reported as `int8Accuracy`. `fixed8` / `fixed16`: the stored model with every activation rounded to fixed-point Qm.n (n per tensor from its calibrated range), reported as `fixedPointAccuracy`. Simulation only: the stored model is the same either way.',
    },
    calibration: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'How `activations: int8` (and, with `minmax` only, `fixed8` / `fixed16`) finds each layer\'s activation range.',
      properties: {
        data: { type: 'string', default: 'train', description: 'Dataset to calibrate on.' },
        samples: { type: 'integer', minimum: 1, default: 256, description: 'Examples used (a seeded random subset).' },
        method: { enum: ['minmax', 'percentile'], default: 'minmax', description: '`minmax`: the full observed range; `percentile`: clip outliers at `percentile`.' },
        percentile: { type: 'number', exclusiveMinimum: 50, maximum: 100, default: 99.99, description: '`percentile`: the range is [100 - p, p] percentiles of the observed values.' },
      },
    },
    foldBatchNorm: {
      type: 'boolean',
      default: false,
      description:
        'Fold each inference-mode BatchNormalization into the Conv2D / DepthwiseConv2D / Dense before it (src/formats/fold-batch-norm.ts) before quantizing: fewer layers and parameters, same outputs up to float rounding. BNs that cannot fold stay, listed with the reason under `foldBatchNorm.kept` in the metrics.',
    },
    eval: { type: 'string', description: 'Dataset to report `accuracyBefore` (input model), `accuracy` (stored model) and `int8Accuracy` on. Default: none (no accuracy metrics).' },
    finetune: {
      ...finetuneSchema,
      description:
        'Quantization-aware fine-tuning before storing: uint8/uint16 weights are fake-quantized in the forward pass (straight-through estimator); exact zeros in kernels stay zero. `epochs: 0` (the default) skips it.',
    },
  },
} as const;

export const quantizeStage = defineStage<QuantizeConfig>({
  name: 'quantize',
  version: '1',
  description: 'Store weights as uint8/uint16/float16 in the tfjs manifest format (stock tfjs dequantizes on load); optional QAT and simulated int8 accuracy.',
  schema: quantizeSchema,
  outputs: ['model'],
  // Names read with this config (calibration and fine-tuning defaults only when those are on).
  datasets: (c) => [
    ...(c.eval ? [['eval']] : []),
    ...(c.activations !== 'none' ? [['calibration', 'data']] : []),
    ...(c.finetune.epochs > 0 ? [['finetune', 'data']] : []),
  ],
  async run(ctx, config, inputs) {
    if (!inputs.model) throw new Error('quantize needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (e.g. train, prune) in its `needs`');
    if (config.activations !== 'none' && !config.eval) {
      throw new StageConfigError(`\`activations: ${config.activations}\` reports the simulated accuracy on a dataset: set \`eval\``, ['activations'], ['add `eval: test` (a dataset under `data:`)']);
    }
    const fixedWeights = [config.weights, ...Object.values(config.layers ?? {}).map((l) => l.weights)].some((w) => w !== undefined && isFixedPointMode(w));
    const givenBits = config.fractionalBits !== undefined || Object.values(config.layers ?? {}).some((l) => l.fractionalBits !== undefined);
    if (givenBits && !fixedWeights) {
      throw new StageConfigError('`fractionalBits` applies to fixed-point weights only, and no layer is set to `fixed8` / `fixed16`', ['fractionalBits'], ['set `weights: fixed8` (or `fixed16`), here or under `layers:`, or remove `fractionalBits`']);
    }
    if (isFixedPointMode(config.activations) && config.calibration.method !== 'minmax') {
      // A fixed-point format must hold the observed range: clipping at percentiles would choose it for values it then saturates.
      throw new StageConfigError(`\`activations: ${config.activations}\` chooses each Qm.n from the min/max range`, ['calibration', 'method'], ['remove `calibration.method` (or set it to `minmax`)']);
    }
    if (fixedWeights && config.finetune.epochs > 0) {
      // QAT fake-quantizes with the affine quantizer; training against another grid than the stored one would mislead.
      throw new StageConfigError('quantization-aware fine-tuning does not support fixed-point weights yet', ['finetune', 'epochs'], ['set `finetune: {epochs: 0}`, or use `weights: uint8` / `uint16` for fine-tuning']);
    }
    const tf = await ctx.engine.tf();
    const t0 = performance.now();
    const phases = ['read', ...(config.finetune.epochs > 0 ? ['finetune'] : []), 'quantize', ...(config.eval ? ['evaluate'] : []), ...(config.activations !== 'none' ? ['activations'] : [])];
    const phase = (name: string, message: string) => ctx.progress({ done: phases.indexOf(name), total: phases.length, unit: 'phases', message });

    phase('read', 'reading the input model');
    let artifacts = await readModelArtifacts(inputs.model.dir);
    let folded: FoldReport | undefined;
    if (config.foldBatchNorm) {
      // Fold first: the folded kernels are what gets quantized (and fine-tuned).
      ({ artifacts, report: folded } = foldBatchNorm(artifacts));
    }
    const model = folded ? await tf.loadLayersModel({ load: async () => artifacts }) : await ctx.engine.loadModel(inputs.model.dir);
    try {
      const stored = splitWeights(artifacts);
      const owner = weightOwners(model);
      const allLayers = model.layers.map((l) => l.name);
      const withFloat = new Set(stored.filter((w) => isFloatWeight(w)).map((w) => owner.get(w.spec.name)));
      const eligible = allLayers.filter((n) => withFloat.has(n));
      const defaults: QuantizeLayerSettings = { weights: config.weights, minSize: config.minSize, ...(config.fractionalBits !== undefined ? { fractionalBits: config.fractionalBits } : {}) };
      const selection = selectLayers(eligible, allLayers, defaults, { layers: config.layers, exclude: config.exclude });
      const decisions = stored.map((w) => decide(w, owner.get(w.spec.name), selection));

      const evalSet = config.eval ? await ctx.data(config.eval) : undefined;
      const metrics: Record<string, Json> = {};
      if (folded) metrics.foldBatchNorm = folded as unknown as Json;
      if (evalSet) metrics.accuracyBefore = (await evaluateAccuracy(tf, model, evalSet, 512, ctx.signal)).accuracy;

      let current: Map<string, Float32Array> | undefined;
      if (config.finetune.epochs > 0) {
        await checkpoint(ctx.signal);
        phase('finetune', `quantization-aware fine-tuning, ${config.finetune.epochs} epoch(s)`);
        const targets = new Map<string, QuantizationDtype>();
        decisions.forEach((d, i) => d.store !== 'keep' && !isFixedPointMode(d.store) && targets.set(stored[i]!.spec.name, d.store));
        const ft = await quantizationAwareFinetune(ctx, tf, model, targets, config.finetune);
        metrics.finetune = { epochs: ft.epochs, steps: ft.steps, losses: ft.losses, fakeQuantized: ft.fakeQuantized, zerosKept: ft.zeroMasked };
        current = new Map(model.weights.map((w) => [w.originalName, (w.read().dataSync() as Float32Array).slice()]));
      }

      await checkpoint(ctx.signal);
      phase('quantize', 'quantizing weights');
      const out: StoredWeight[] = [];
      const layerMetrics: Record<string, { weights: WeightStorage; bytesBefore: number; bytesAfter: number; maxError: number; tensors: Record<string, Json> }> = {};
      for (const name of eligible) {
        layerMetrics[name] = { weights: selection.get(name)?.weights ?? 'none', bytesBefore: 0, bytesAfter: 0, maxError: 0, tensors: {} };
      }
      let quantizedTensors = 0;
      stored.forEach((w, i) => {
        const d = decisions[i]!;
        const { spec } = w;
        const before = decodeFloat32(w);
        const now = current?.get(spec.name) ?? before;
        let written: StoredWeight;
        let maxError = 0;
        let fixed: Record<string, Json> | undefined;
        if (d.store === 'keep' || !now) {
          written = before && now && now !== before && !sameValues(now, before) ? float32Weight(spec.name, spec.shape, now, spec.group) : w;
        } else if (isFixedPointMode(d.store)) {
          let q;
          try {
            q = quantizeFixedPoint(now, FIXED_POINT_MODES[d.store], d.fractionalBits);
          } catch (err) {
            throw new Error(`cannot quantize ${spec.name} to ${d.store}: ${(err as Error).message}`, { cause: err });
          }
          written = quantizedWeight(spec.name, spec.shape, q, spec.group);
          maxError = q.maxError;
          fixed = { format: formatName(q.format), fractionalBits: q.format.fractionalBits, saturated: q.saturated };
          quantizedTensors++;
        } else {
          const perRow = d.store !== 'float16' && config.embeddings === 'per-row' && isEmbeddingTable(spec.name) && spec.shape.length === 2;
          try {
            if (perRow) {
              const q = quantizeRows(now, spec.shape[0]!, d.store as 'uint8' | 'uint16');
              written = rowQuantizedWeight(spec.name, spec.shape, q, spec.group);
              maxError = q.maxError;
            } else {
              const q = quantizeTensor(now, d.store);
              written = quantizedWeight(spec.name, spec.shape, q, spec.group);
              maxError = q.maxError;
            }
          } catch (err) {
            throw new Error(`cannot quantize ${spec.name} to ${d.store}: ${(err as Error).message}`, { cause: err });
          }
          quantizedTensors++;
        }
        out.push(written);
        const lm = d.layer !== undefined ? layerMetrics[d.layer] : undefined;
        if (lm) {
          lm.bytesBefore += w.bytes.byteLength;
          lm.bytesAfter += written.bytes.byteLength;
          lm.maxError = Math.max(lm.maxError, maxError);
          const rows = (written.spec as RowQuantizedManifestEntry).rowQuantization;
          const entry: Record<string, Json> = {
            // Per-row tables are float32 in the directory (tfjs has no per-row manifest); `export` packs their codes.
            stored: rows ? `${rows.dtype} per row` : (written.spec.quantization?.dtype ?? written.spec.dtype),
            elements: spec.shape.reduce((a, b) => a * b, 1),
            bytesBefore: w.bytes.byteLength,
            bytesAfter: written.bytes.byteLength,
            maxError,
          };
          if (d.reason) entry.kept = d.reason;
          if (fixed) entry.fixedPoint = fixed;
          lm.tensors[spec.name] = entry;
        }
      });
      const dir = await ctx.outputDir('model');
      const info = await writeModelArtifacts(withWeights(artifacts, out), dir);
      const weightBytesBefore = stored.reduce((n, w) => n + w.bytes.byteLength, 0);
      Object.assign(metrics, {
        weightBytesBefore,
        weightBytesAfter: info.weightBytes,
        compression: info.weightBytes > 0 ? weightBytesBefore / info.weightBytes : 1,
        quantizedTensors,
        layers: layerMetrics as unknown as Json,
      });

      if (evalSet) {
        await checkpoint(ctx.signal);
        phase('evaluate', `evaluating the stored model on ${config.eval}`);
        // Load what was written, through the stock loader: the accuracy is that of the artifact itself.
        const stored = await ctx.engine.loadModel(dir);
        metrics.accuracy = (await evaluateAccuracy(tf, stored, evalSet, 512, ctx.signal)).accuracy;
        metrics.evalDataset = config.eval!;
        stored.dispose();
      }

      if (config.activations !== 'none' && isFixedPointMode(config.activations)) {
        await checkpoint(ctx.signal);
        phase('activations', `simulating ${config.activations} activations (calibration: minmax on ${config.calibration.samples} samples of ${config.calibration.data})`);
        // On the stored model: its weights are exactly what was written (fixed-point or not).
        const storedModel = await ctx.engine.loadModel(dir);
        try {
          const r = await simulateFixedPointActivations(ctx, tf, storedModel, {
            bits: FIXED_POINT_MODES[config.activations],
            calibration: await ctx.data(config.calibration.data),
            samples: config.calibration.samples,
            evalSet: evalSet!,
          });
          metrics.fixedPointAccuracy = r.accuracy;
          metrics.fixedPoint = { activations: config.activations, calibration: { data: config.calibration.data, samples: r.samples, method: 'minmax' }, formats: r.formats };
        } finally {
          storedModel.dispose();
        }
      }

      if (config.activations === 'int8') {
        await checkpoint(ctx.signal);
        phase('activations', `simulating int8 inference (calibration: ${config.calibration.method} on ${config.calibration.samples} samples of ${config.calibration.data})`);
        const int8Layers = new Set([...selection].filter(([, s]) => s.weights !== 'none').map(([n]) => n));
        const r = await simulateInt8(ctx, tf, model, { calibration: await ctx.data(config.calibration.data), config: config.calibration, evalSet: evalSet!, int8Layers });
        metrics.int8Accuracy = r.accuracy;
        metrics.int8 = {
          calibration: { data: config.calibration.data, samples: r.samples, method: config.calibration.method, ...(config.calibration.method === 'percentile' ? { percentile: config.calibration.percentile } : {}) },
          kernels: r.int8Kernels,
          ranges: r.ranges,
        };
      }
      ctx.progress({ done: phases.length, total: phases.length, unit: 'phases', message: describe(metrics) });

      // meta.json is part of the artifact: only reproducible content, no times.
      await writeFile(join(dir, 'meta.json'), `${JSON.stringify({ stage: 'quantize', metrics }, null, 2)}\n`);
      return { outputs: { model: dir }, metrics: { ...metrics, quantizeMs: Math.round(performance.now() - t0) } };
    } finally {
      model.dispose();
    }
  },
});

export interface Decision {
  /** The layer owning the weight, if any. */
  layer?: string;
  store: QuantizationDtype | FixedPointMode | 'keep';
  /** Fixed-point modes: the given n, if any (else from the tensor's range). */
  fractionalBits?: number;
  /** Why a weight is kept as it is. */
  reason?: string;
}

export function isFloatWeight(w: StoredWeight): boolean {
  return w.spec.dtype === 'float32' && w.spec.group !== 'optimizer';
}

/** How one stored weight is written, and why it is kept when it is (also `modelpress inspect`'s answer). */
export function decide(w: StoredWeight, layer: string | undefined, selection: ReadonlyMap<string, QuantizeLayerSettings>): Decision {
  const base = layer !== undefined ? { layer } : {};
  if (!isFloatWeight(w)) return { ...base, store: 'keep', reason: `dtype ${w.spec.dtype}` };
  const s = layer !== undefined ? selection.get(layer) : undefined;
  if (!s) return { ...base, store: 'keep', reason: 'layer not targeted' };
  if (s.weights === 'none') return { ...base, store: 'keep', reason: 'weights: none' };
  const elements = w.spec.shape.reduce((a, b) => a * b, 1);
  if (elements < s.minSize) return { ...base, store: 'keep', reason: `below minSize (${elements} < ${s.minSize})` };
  return { ...base, store: s.weights, ...(isFixedPointMode(s.weights) && s.fractionalBits !== undefined ? { fractionalBits: s.fractionalBits } : {}) };
}

/** Manifest weight name (`dense1/kernel`) -> the layer owning it (tfjs saves weights under `originalName`). */
export function weightOwners(model: LayersModel): Map<string, string> {
  const owner = new Map<string, string>();
  for (const layer of model.layers) for (const w of layer.weights) if (!owner.has(w.originalName)) owner.set(w.originalName, layer.name);
  return owner;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function describe(m: Record<string, Json>): string {
  const kb = (n: Json) => `${((n as number) / 1024).toFixed(1)} KB`;
  const parts = [`weights ${kb(m.weightBytesBefore!)} -> ${kb(m.weightBytesAfter!)}`];
  if (typeof m.accuracy === 'number') parts.push(`accuracy ${(m.accuracyBefore as number).toFixed(2)}% -> ${m.accuracy.toFixed(2)}%`);
  if (typeof m.int8Accuracy === 'number') parts.push(`int8 ${m.int8Accuracy.toFixed(2)}%`);
  if (typeof m.fixedPointAccuracy === 'number') parts.push(`fixed-point activations ${m.fixedPointAccuracy.toFixed(2)}%`);
  return parts.join(', ');
}
