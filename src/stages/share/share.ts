/**
 * Built-in stage `share`: weight sharing by per-tensor k-means (Deep
 * Compression, Han et al. 2016, section 3). Every targeted kernel is
 * clustered over its non-zero weights and each weight replaced by its
 * centroid, so the kernel holds at most `clusters` distinct non-zero values:
 * a packed format can then store a small codebook plus a
 * ceil(log2(clusters))-bit index per weight. Zeros (pruned weights) are left
 * out of the clustering and stay exactly +0.
 *
 * The output is still a plain float32 tfjs LayersModel (stock tfjs loads
 * it); meta.json records each tensor's codebook for the packed format.
 *
 * Optionally the centroids are fine-tuned (gradients summed per cluster,
 * share-finetune.ts), and same-shape kernels can be tied (replaced by their
 * mean and kept identical).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerVariable, LayersModel } from '@tensorflow/tfjs';
import { seededRandom } from '../../data/dataset.js';
import { layerSeed } from '../../engine/builders.js';
import type { Tf } from '../../engine/tf.js';
import type { Json } from '../../plugin.js';
import { StageConfigError, defineStage } from '../../stage-definition.js';
import { finetune, finetuneSchema } from '../training/finetune.js';
import type { FinetuneConfig } from '../training/finetune.js';
import { selectLayers, targetingSchema } from '../training/layer-targeting.js';
import { isCompressibleWeight } from '../training/compressible-weights.js';
import { constraintHooks, zerosOf } from './share-finetune.js';
import type { Constraint } from './share-finetune.js';
import { SHARE_INITS, bitsPerIndex, clusterWeights, distinctNonZero } from './share-kmeans.js';
import type { ShareInit } from './share-kmeans.js';
import { evaluateAccuracy } from '../training/train-loop.js';
import { checkpoint } from '../training/abort-checkpoint.js';

/** Bits per index when neither `clusters` nor `bits` is given: 32 clusters. */
export const DEFAULT_SHARE_BITS = 5;

export interface ShareLayerSettings {
  /** Clusters per tensor; null: 2^bits. */
  clusters: number | null;
  /** Bits per cluster index (clusters = 2^bits); null: `clusters`, or 5 when both are null. */
  bits: number | null;
  init: ShareInit;
  iterations: number;
  tolerance: number;
  /** Also cluster the layer's biases (each with its own codebook). */
  biases: boolean;
}

export interface ShareConfig extends ShareLayerSettings {
  method: 'kmeans';
  layers: Record<string, Partial<ShareLayerSettings>>;
  exclude: string[];
  tie: string[][];
  finetune: FinetuneConfig;
  eval: string | null;
}

const settingsProperties = {
  clusters: {
    type: 'integer',
    minimum: 2,
    maximum: 65536,
    description: 'Clusters (codebook entries) per tensor; need not be a power of two. Give `clusters` or `bits`, not both.',
  },
  bits: { type: 'integer', minimum: 1, maximum: 16, description: 'Bits per cluster index: clusters = 2^bits. Give `clusters` or `bits`, not both.' },
  init: {
    enum: [...SHARE_INITS],
    description: 'Initial centroids: `linear` (evenly spaced between min and max, best in Deep Compression), `density` (evenly spaced on the CDF), `kmeans++` or `random` (seeded).',
  },
  iterations: { type: 'integer', minimum: 0, maximum: 10000, description: 'Most k-means (Lloyd) iterations; 0 keeps the initial centroids.' },
  tolerance: {
    type: 'number',
    minimum: 0,
    description: 'Stop early once no centroid moves more than tolerance x (max - min weight) in an iteration (also when the assignment stops changing).',
  },
  biases: { type: 'boolean', description: 'Also cluster biases, each with its own codebook.' },
} as const;

const layerSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Overrides for the layers a pattern matches; unset keys keep the top-level value (`bits` here replaces a top-level `clusters`, and vice versa).',
  properties: settingsProperties,
} as const;

const targeting = targetingSchema(layerSettingsSchema);

export const shareSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    method: { enum: ['kmeans'], default: 'kmeans', description: 'Clustering method: `kmeans` (per-tensor 1-D k-means over the non-zero weights).' },
    clusters: { ...settingsProperties.clusters, type: ['integer', 'null'], default: null },
    bits: { ...settingsProperties.bits, type: ['integer', 'null'], default: null, description: `${settingsProperties.bits.description} Default when neither is set: ${DEFAULT_SHARE_BITS} (32 clusters).` },
    init: { ...settingsProperties.init, default: 'linear' },
    iterations: { ...settingsProperties.iterations, default: 30 },
    tolerance: { ...settingsProperties.tolerance, default: 1e-6 },
    biases: { ...settingsProperties.biases, default: false },
    layers: { ...targeting.layers, default: {} },
    exclude: { ...targeting.exclude, default: [] },
    tie: {
      type: 'array',
      default: [],
      description: 'Groups of layer names whose kernels are replaced by their mean and kept identical (same kernel shapes only; biases are not tied).',
      items: { type: 'array', minItems: 2, items: { type: 'string', minLength: 1 } },
    },
    finetune: {
      ...finetuneSchema,
      description: 'Centroid fine-tuning: gradients summed per cluster (Deep Compression eq. 3), weights re-snapped to their cluster after every step. `epochs: 0` (default) skips it.',
    },
    eval: { type: ['string', 'null'], default: null, description: 'Dataset to report `accuracy` of the output (and `accuracyBefore` of the input) on.' },
  },
} as const;

export const shareStage = defineStage<ShareConfig>({
  name: 'share',
  version: '1',
  description: 'Weight sharing: per-layer k-means of the non-zero weights, with optional centroid fine-tuning and kernel tying.',
  schema: shareSchema,
  outputs: ['model'],
  // Names read with this config (the fine-tuning default only when fine-tuning is on).
  datasets: (c) => [...(c.eval ? [['eval']] : []), ...(c.finetune.epochs > 0 ? [['finetune', 'data']] : [])],
  async run(ctx, config, inputs) {
    if (!inputs.model) throw new Error('share needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (train, prune, ...) in its `needs`');
    const tf = await ctx.engine.tf();
    const model = await ctx.engine.loadModel(inputs.model.dir);
    const plan = planSharing(model, config);
    const evalSet = config.eval ? await ctx.data(config.eval) : undefined;
    const metrics: Record<string, Json> = {};
    if (evalSet) {
      const r = await evaluateAccuracy(tf, model, evalSet, 512, ctx.signal);
      Object.assign(metrics, { evalDataset: config.eval!, accuracyBefore: r.accuracy, lossBefore: r.loss });
    }

    // Cluster (and tie).
    const t0 = performance.now();
    const fineTuning = config.finetune.epochs > 0;
    const constraints: Constraint[] = [];
    const records: TensorRecord[] = [];
    const total = plan.units.length;
    for (const [done, unit] of plan.units.entries()) {
      await checkpoint(ctx.signal);
      const data = unit.vars.map((v) => v.read().dataSync() as Float32Array);
      const base = data.length > 1 ? elementwiseMean(data) : data[0]!;
      if (unit.settings) {
        const s = unit.settings;
        const random = seededRandom(layerSeed(ctx.seed, model.weights.indexOf(unit.vars[0]!)));
        const r = clusterWeights(base, { clusters: s.clusters, init: s.init, iterations: s.iterations, tolerance: s.tolerance, random });
        writeAll(tf, unit.vars, r.values);
        constraints.push({ vars: unit.vars, clustered: { index: r.index, clusters: r.codebook.length } });
        records.push({ unit, clusters: s.clusters, init: s.init, iterations: r.iterations, converged: r.converged, mse: r.mse });
        ctx.progress({ done: done + 1, total, unit: 'tensors', message: `${unit.layers.join('+')} ${unit.role}: ${r.codebook.length} clusters` });
      } else if (unit.vars.length > 1) {
        writeAll(tf, unit.vars, base);
        constraints.push({ vars: unit.vars, zeros: zerosOf(base) });
        ctx.progress({ done: done + 1, total, unit: 'tensors', message: `${unit.layers.join('+')} ${unit.role}: tied` });
      } else if (fineTuning) {
        // Not shared: fine-tuning still must not regrow an upstream prune's zeros.
        const zeros = zerosOf(base);
        if (zeros.some((z) => z === 1)) constraints.push({ vars: unit.vars, zeros });
      }
    }
    metrics.clusterMs = Math.round(performance.now() - t0);

    if (fineTuning) {
      if (evalSet) {
        const r = await evaluateAccuracy(tf, model, evalSet, 512, ctx.signal);
        Object.assign(metrics, { accuracyClustered: r.accuracy, lossClustered: r.loss });
      }
      const t1 = performance.now();
      const res = await finetune(ctx, model, config.finetune, constraintHooks(tf, constraints));
      metrics.finetune = { epochs: res.epochs, steps: res.steps, losses: res.losses };
      metrics.finetuneMs = Math.round(performance.now() - t1);
    }
    if (evalSet) {
      const r = await evaluateAccuracy(tf, model, evalSet, 512, ctx.signal);
      Object.assign(metrics, { accuracy: r.accuracy, loss: r.loss });
    }

    // Describe what the weights now hold (after fine-tuning moved the centroids).
    const layers: Record<string, Record<string, Json>> = {};
    const summary: Record<string, Record<string, Json>> = {};
    let sharedWeights = 0;
    for (const rec of records) {
      const values = rec.unit.vars[0]!.read().dataSync() as Float32Array;
      const codebook = distinctNonZero(values);
      let nonZeros = 0;
      for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZeros++;
      rec.unit.layers.forEach((layer, i) => {
        const entry: Record<string, Json> = {
          weight: rec.unit.vars[i]!.originalName,
          shape: [...rec.unit.vars[i]!.shape],
          clusters: rec.clusters,
          bitsPerIndex: bitsPerIndex(rec.clusters),
          clustersUsed: codebook.length,
          nonZeros,
          size: values.length,
          init: rec.init,
          iterations: rec.iterations,
          converged: rec.converged,
          mse: rec.mse,
          codebook: Array.from(codebook),
        };
        if (rec.unit.layers.length > 1) entry.tiedWith = rec.unit.layers.filter((l) => l !== layer);
        (layers[layer] ??= {})[rec.unit.role] = entry;
        (summary[layer] ??= {})[rec.unit.role] = { clusters: rec.clusters, clustersUsed: codebook.length, bitsPerIndex: bitsPerIndex(rec.clusters), nonZeros };
        sharedWeights += nonZeros;
      });
    }
    Object.assign(metrics, { layers: summary, sharedTensors: records.reduce((n, r) => n + r.unit.vars.length, 0), sharedWeights });

    const dir = await ctx.outputDir('model');
    await ctx.engine.saveModel(model, dir);
    // Only reproducible content: wall times would change the artifact digest.
    // The per-layer summary is left out: `layers` above holds it in full.
    const { clusterMs: _c, finetuneMs: _f, layers: _l, ...quality } = metrics;
    const meta = { stage: 'share', method: config.method, layers, tie: plan.ties, metrics: quality };
    await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return { outputs: { model: dir }, metrics };
  },
});

// ---------------------------------------------------------------------------
// Planning: which tensors, with which settings

interface ResolvedSettings {
  clusters: number;
  init: ShareInit;
  iterations: number;
  tolerance: number;
  biases: boolean;
}

/** One tensor (or a group of tied copies) to cluster, tie, or guard. */
interface Unit {
  layers: string[];
  /** The weight's name inside its layer: `kernel`, `bias`, `depthwise_kernel`, `forward_lstm_LSTM1/recurrent_kernel`, ... */
  role: string;
  vars: LayerVariable[];
  /** Clustering settings; undefined: not clustered (tied only, or just guarded). */
  settings?: ResolvedSettings;
}

interface TensorRecord {
  unit: Unit;
  clusters: number;
  init: ShareInit;
  iterations: number;
  converged: boolean;
  mse: number;
}

export interface LayerTensors {
  name: string;
  kernels: { role: string; v: LayerVariable }[];
  biases: { role: string; v: LayerVariable }[];
}

export interface SharePlan {
  units: Unit[];
  ties: string[][];
}

/**
 * The weight's name inside its layer: `kernel` for most layers, but
 * `forward_lstm_LSTM1/kernel` for a Bidirectional wrapper, whose two
 * directions would otherwise collide in the metrics under one `kernel`.
 */
const roleOf = (v: LayerVariable, layer: string) => (v.originalName.startsWith(`${layer}/`) ? v.originalName.slice(layer.length + 1) : v.originalName.slice(v.originalName.lastIndexOf('/') + 1));

/** Layers with at least one float kernel of rank >= 2 (dense, conv, depthwise, recurrent kernels, embedding tables, ...). */
export function shareableLayers(model: LayersModel): LayerTensors[] {
  const out: LayerTensors[] = [];
  for (const layer of model.layers) {
    const kernels: LayerTensors['kernels'] = [];
    const biases: LayerTensors['biases'] = [];
    for (const v of layer.weights) {
      if (v.dtype !== 'float32') continue;
      const role = roleOf(v, layer.name);
      if (isCompressibleWeight(v.originalName) && v.shape.length >= 2) kernels.push({ role, v });
      else if (/(^|\/|_)bias$/.test(role)) biases.push({ role, v });
    }
    if (kernels.length > 0) out.push({ name: layer.name, kernels, biases });
  }
  return out;
}

function resolveClusters(s: { clusters: number | null; bits: number | null }, path: (string | number)[]): number {
  if (s.clusters != null && s.bits != null) {
    throw new StageConfigError(`give \`clusters\` or \`bits\`, not both (clusters ${s.clusters} vs bits ${s.bits} = ${2 ** s.bits} clusters)`, [...path, 'bits']);
  }
  return s.clusters ?? 2 ** (s.bits ?? DEFAULT_SHARE_BITS);
}

/**
 * Resolves `layers:`, `exclude:` and `tie:` against the model.
 * @throws StageConfigError for a pattern matching no layer, `clusters` with
 *   `bits`, or a tie that names an unknown layer or mixes shapes or settings.
 */
export function planSharing(model: LayersModel, config: ShareConfig): SharePlan {
  const all = model.layers.map((l) => l.name);
  const shareable = shareableLayers(model);
  const eligible = shareable.map((l) => l.name);
  resolveClusters(config, []);
  // A per-layer `bits` replaces the top-level `clusters` (and vice versa).
  const overrides: Record<string, Partial<ShareLayerSettings>> = {};
  for (const [pattern, s] of Object.entries(config.layers)) {
    if (s.clusters != null && s.bits != null) resolveClusters({ clusters: s.clusters, bits: s.bits }, ['layers', pattern]);
    overrides[pattern] = s.bits != null ? { ...s, clusters: null } : s.clusters != null ? { ...s, bits: null } : s;
  }
  const defaults: ShareLayerSettings = {
    clusters: config.clusters,
    bits: config.bits,
    init: config.init,
    iterations: config.iterations,
    tolerance: config.tolerance,
    biases: config.biases,
  };
  const selected = new Map<string, ResolvedSettings>();
  for (const [name, s] of selectLayers(eligible, all, defaults, { layers: overrides, exclude: config.exclude })) {
    selected.set(name, { clusters: resolveClusters(s, []), init: s.init, iterations: s.iterations, tolerance: s.tolerance, biases: s.biases });
  }

  const byName = new Map(shareable.map((l) => [l.name, l]));
  const groupOf = new Map<string, number>();
  const hints = [`layers with kernels: ${eligible.join(', ') || '(none)'}`];
  config.tie.forEach((group, g) => {
    group.forEach((name, j) => {
      if (!byName.has(name)) {
        throw new StageConfigError(
          all.includes(name) ? `layer \`${name}\` has no kernel to tie` : `layer \`${name}\` is not in the model`,
          ['tie', g, j],
          [...hints, `all layers: ${all.join(', ')}`],
        );
      }
      const prev = groupOf.get(name);
      if (prev !== undefined) throw new StageConfigError(`layer \`${name}\` is tied twice${prev === g ? ' in one group' : ` (also in tie[${prev}])`}`, ['tie', g, j]);
      groupOf.set(name, g);
    });
    const first = byName.get(group[0]!)!;
    const describe = (l: LayerTensors) => l.kernels.map((k) => `${k.role} [${k.v.shape.join(', ')}]`).join(', ');
    group.slice(1).forEach((name, j) => {
      const other = byName.get(name)!;
      if (describe(other) !== describe(first)) {
        throw new StageConfigError(`cannot tie \`${first.name}\` (${describe(first)}) and \`${name}\` (${describe(other)}): tied kernels need the same shape`, ['tie', g, j + 1]);
      }
    });
    const settings = group.map((n) => selected.get(n));
    const shared = group.filter((_, i) => settings[i] !== undefined);
    if (shared.length > 0 && shared.length < group.length) {
      throw new StageConfigError(`tied layers must be all shared or all left out; shared: ${shared.join(', ')}; not: ${group.filter((n) => !shared.includes(n)).join(', ')}`, ['tie', g]);
    }
    const key = (s: ResolvedSettings | undefined) => JSON.stringify(s && { ...s, biases: undefined });
    if (settings.some((s) => key(s) !== key(settings[0]))) {
      throw new StageConfigError(`tied layers need the same clustering settings (${group.join(', ')} differ)`, ['tie', g]);
    }
  });

  const units: Unit[] = [];
  const done = new Set<number>();
  for (const layer of shareable) {
    const g = groupOf.get(layer.name);
    if (g !== undefined && done.has(g)) continue;
    if (g !== undefined) done.add(g);
    const members = g !== undefined ? config.tie[g]!.map((n) => byName.get(n)!) : [layer];
    const settings = selected.get(layer.name);
    for (const [i, k] of layer.kernels.entries()) {
      units.push({ layers: members.map((m) => m.name), role: k.role, vars: members.map((m) => m.kernels[i]!.v), ...(settings ? { settings } : {}) });
    }
    for (const m of members) {
      const s = selected.get(m.name);
      if (!s?.biases) continue;
      for (const b of m.biases) units.push({ layers: [m.name], role: b.role, vars: [b.v], settings: s });
    }
  }
  return { units, ties: config.tie.map((g) => [...g]) };
}

// ---------------------------------------------------------------------------

function elementwiseMean(data: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(data[0]!.length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (const d of data) s += d[i]!;
    const mean = Math.fround(s / data.length);
    out[i] = mean === 0 ? 0 : mean; // never -0
  }
  return out;
}

function writeAll(tf: Tf, vars: readonly LayerVariable[], values: Float32Array): void {
  for (const v of vars) {
    tf.tidy(() => {
      v.write(tf.tensor(values, v.read().shape, 'float32'));
    });
  }
}
