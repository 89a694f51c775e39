/**
 * Built-in stage `prune`: takes the upstream model and outputs a pruned
 * standard tfjs LayersModel plus per-layer metrics in meta.json.
 *
 * - `method: magnitude`: zero the smallest-|w| fraction of each targeted
 *   kernel (`scope: layer`) or of all of them pooled (`scope: global`).
 * - `method: threshold`: zero |w| < quality · std(w), per layer (Han et al.).
 * - `method: structured`: remove whole Dense units / Conv2D and
 *   SeparableConv2D filters and cut every layer their channels reach to
 *   match (channels meeting at an Add are removed together), so the model
 *   gets smaller and faster; with `heads:`, whole attention heads too
 *   (prune-attention-heads.ts).
 *
 * Unstructured pruning can run gradually during fine-tuning (`schedule:`,
 * Zhu & Gupta's AGP), with masks enforced after every optimizer step. The
 * work lives in prune-magnitude.ts, prune-structured.ts and
 * prune-schedule.ts; this file is the schema, the shared checks and the
 * artifact.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Json } from '../../plugin.js';
import { StageConfigError, defineStage } from '../../stage-definition.js';
import { finetuneSchema } from '../training/finetune.js';
import type { FinetuneConfig } from '../training/finetune.js';
import { targetingSchema } from '../training/layer-targeting.js';
import { pruneUnstructured, round6 } from './prune-magnitude.js';
import { pruneScheduleSchema } from './prune-schedule.js';
import type { PruneSchedule } from './prune-schedule.js';
import { pruneStructured } from './prune-structured.js';
import type { PruneLayerSettings } from './prune-targets.js';
import { evaluateAccuracy } from '../training/train-loop.js';

export interface PruneConfig {
  method: 'magnitude' | 'threshold' | 'structured';
  sparsity: number;
  scope: 'layer' | 'global';
  quality: number;
  criterion: 'l1' | 'l2' | 'activation';
  /** structured: fraction of each attention block's heads removed; unset: heads kept. */
  heads?: number;
  calibration: { data: string; samples: number };
  schedule?: PruneSchedule;
  finetune: FinetuneConfig;
  eval?: string;
  layers?: Record<string, Partial<PruneLayerSettings>>;
  exclude?: string[];
}

/** What a `layers:` entry may override. No defaults here: unset keys fall back to the top-level options. */
const layerSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Per-layer overrides of the top-level options (unset keys take the top-level value).',
  properties: {
    sparsity: { type: 'number', minimum: 0, maximum: 1, description: 'This layer\'s target sparsity (magnitude) or fraction of units removed (structured). Default: the top-level `sparsity`.' },
    quality: { type: 'number', minimum: 0, description: 'This layer\'s threshold factor (threshold method). Default: the top-level `quality`.' },
  },
} as const;

export const pruneSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    method: {
      enum: ['magnitude', 'threshold', 'structured'],
      default: 'magnitude',
      description: '`magnitude`: zero the smallest |w| to a target sparsity; `threshold`: zero |w| < quality · std(w) per layer (Han et al. 2015); `structured`: remove whole Dense / SimpleRNN / LSTM / GRU units and Conv2D / SeparableConv2D filters and cut what reads them to match (channels that meet at an Add are removed together), and with `heads:` whole attention heads.',
    },
    sparsity: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'magnitude: fraction of each targeted kernel (or, with `scope: global`, of all of them) set to 0; structured: fraction of each layer\'s units/filters removed.',
    },
    scope: {
      enum: ['layer', 'global'],
      default: 'layer',
      description: 'magnitude only: `layer` prunes each layer to its sparsity; `global` ranks all targeted weights together (one threshold).',
    },
    quality: {
      type: 'number',
      minimum: 0,
      default: 1,
      description: 'threshold only: weights with |w| < quality · std(layer weights) are zeroed.',
    },
    heads: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'structured only: fraction of each attention block\'s heads removed whole (round(heads × heads per block); at least one per block must stay, or it is refused), on models from `build: { arch: transformer }`. Ranked by `criterion`: l1/l2 of the head\'s value and output kernels, or mean |head output| (activation). With `heads:` set, units are pruned only in the layers `layers:` names. Default: unset (heads kept).',
    },
    criterion: {
      enum: ['l1', 'l2', 'activation'],
      default: 'l1',
      description: 'structured only: rank units by the L1 or L2 norm of their incoming weights (heads: of their value and output kernels), or by mean |activation| over `calibration` samples (neuron pruning; heads: mean |head output|); the lowest go.',
    },
    calibration: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'structured with `criterion: activation`: where the activations are measured.',
      properties: {
        data: { type: 'string', default: 'train', description: 'Dataset (a name under `data:`) to draw calibration samples from.' },
        samples: { type: 'integer', minimum: 1, default: 512, description: 'Number of samples (a seeded random subset; all when the dataset is smaller).' },
      },
    },
    schedule: pruneScheduleSchema,
    finetune: finetuneSchema,
    eval: { type: 'string', description: 'Dataset to report `accuracy` (output) and `accuracyBefore` (input model) on, in percent. Default: none.' },
    ...targetingSchema(layerSettingsSchema),
  },
} as const;

export const pruneStage = defineStage<PruneConfig>({
  name: 'prune',
  // '2': structured pruning's meta.json said `finetune.steps: 0` (a fine-tuning
  // loop without an afterStep hook never counted its steps); its artifacts differ.
  version: '2',
  description: 'Prune weights (magnitude, threshold; optionally gradual while fine-tuning) or whole units/filters (structured, physically removed).',
  schema: pruneSchema,
  outputs: ['model'],
  // Names read with this config (calibration and fine-tuning defaults only when those are on).
  datasets: (c) => [
    ...(c.eval ? [['eval']] : []),
    ...(c.method === 'structured' && c.criterion === 'activation' ? [['calibration', 'data']] : []),
    ...(c.finetune.epochs > 0 ? [['finetune', 'data']] : []),
  ],
  async run(ctx, config, inputs) {
    if (!inputs.model) throw new Error('prune needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (e.g. train) in its `needs`');
    const tf = await ctx.engine.tf();
    const input = await ctx.engine.loadModel(inputs.model.dir);
    const evalSet = config.eval ? await ctx.data(config.eval) : undefined;
    const metrics: Record<string, Json> = { method: config.method };
    if (evalSet) metrics.accuracyBefore = round6((await evaluateAccuracy(tf, input, evalSet, 512, ctx.signal)).accuracy);

    if (config.heads !== undefined && config.method !== 'structured') {
      throw new StageConfigError(`\`heads\` removes whole attention heads, which only \`method: structured\` does (got \`method: ${config.method}\`)`, ['heads'], ['set `method: structured`, or drop `heads:`']);
    }
    const t0 = performance.now();
    let output: LayersModel;
    if (config.method === 'structured') {
      const r = await pruneStructured(ctx, input, config);
      output = r.model;
      Object.assign(metrics, r.summary, { layers: r.layers });
    } else {
      const r = await pruneUnstructured(ctx, input, config);
      output = input;
      Object.assign(metrics, r.summary, { layers: r.layers });
    }
    const pruneMs = Math.round(performance.now() - t0);
    if (evalSet) {
      metrics.accuracy = round6((await evaluateAccuracy(tf, output, evalSet, 512, ctx.signal)).accuracy);
      metrics.evalDataset = config.eval!;
    }

    const dir = await ctx.outputDir('model');
    await ctx.engine.saveModel(output, dir);
    // meta.json is part of the artifact's digest: reproducible content only (no times).
    await writeFile(join(dir, 'meta.json'), `${JSON.stringify({ stage: 'prune', metrics }, null, 2)}\n`);
    if (output !== input) output.dispose();
    input.dispose();
    return { outputs: { model: dir }, metrics: { ...metrics, pruneMs } };
  },
});
