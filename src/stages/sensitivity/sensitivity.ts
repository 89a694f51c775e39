/**
 * Built-in stage `sensitivity`: how much each layer minds each compression
 * option on its own. For every targeted layer and every option (sparsity
 * levels, sharing bits, weight dtypes) the option is applied to that layer
 * alone (layer-setting.ts: the prune/share/quantize math; a dtype on every
 * tensor of the layer the quantize stage would store in it, biases above its
 * `minSize` included, so the point is what quantize gives; structured
 * ratios through structured-setting.ts, the prune stage's unit removal), without
 * fine-tuning (or, with `recover`, after a short fine-tune with the option
 * held: recovery.ts), and the model is measured on a calibration split held out
 * from the training data (seeded; never the test set, which the report
 * keeps for the end). Labelled data is measured by accuracy; unlabelled data
 * by top-1 agreement with the unmodified model (src/measure/agreement.ts).
 *
 * Output `sensitivity`: sensitivity.json (the contract in
 * src/contracts/sensitivity.ts) and sensitivity.md (the table). The auto
 * stage reads the table as the allocator's predicted loss per (layer,
 * option).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LayersModel, LayerVariable, Tensor } from '@tensorflow/tfjs';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { Dataset, Json, StageContext } from '../../stage-definition.js';
import { splitDataset } from '../../data/dataset.js';
import { seededRandom } from '../../data/dataset.js';
import { layerSeed } from '../../engine/builders.js';
import type { Tf } from '../../engine/tf.js';
import { AgreementAccumulator } from '../../measure/agreement.js';
import { encodeSensitivity, renderSensitivityMarkdown } from '../../contracts/sensitivity.js';
import type { Sensitivity, SensitivityFamily, SensitivityPoint, WeightDtype } from '../../contracts/sensitivity.js';
import { kernelVariables, round6 } from '../prune/prune-magnitude.js';
import { layerNames } from '../prune/prune-targets.js';
import { checkpoint } from '../training/abort-checkpoint.js';
import { selectLayers, targetingSchema } from '../training/layer-targeting.js';
import { evaluateAccuracy, toTensors } from '../training/train-loop.js';
import { applySetting, heldBy, settingLabel, tensorSetting } from './layer-setting.js';
import { tryRemoveUnits } from './structured-setting.js';
import { MeasurementMemo, measurementKey } from './measurement-memo.js';
import { makeRecovery, recoverySchema } from './recovery.js';
import type { RecoveryConfig } from './recovery.js';
import { constraintHooks } from '../share/share-finetune.js';
import type { Constraint } from '../share/share-finetune.js';

export interface SensitivityConfig {
  data: string;
  fraction: number;
  samples: number;
  sparsity: number[];
  bits: number[];
  dtype: WeightDtype[];
  structured: number[];
  metric: 'auto' | 'accuracy' | 'agreement';
  batchSize: number;
  layers?: Record<string, Record<string, never>>;
  exclude?: string[];
  recover: RecoveryConfig;
  memo: { dir: string };
}

/** Defaults: Distiller-like sparsity steps up to Deep Compression's 98%, and the share stage's useful bit range. */
export const DEFAULT_SPARSITY_LEVELS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98];
export const DEFAULT_BITS = [8, 6, 5, 4, 3, 2];

export const sensitivitySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data: { type: 'string', default: 'train', description: 'Dataset the calibration split is held out from (the training data; never the test set). Default: `train`.' },
    fraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'Fraction of `data` held out as the calibration split (seeded by the recipe seed). Default: 0.1.' },
    samples: { type: 'integer', minimum: 1, default: 1000, description: 'Most calibration examples used (the first ones of the held-out split). Default: 1000.' },
    sparsity: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, default: DEFAULT_SPARSITY_LEVELS, description: 'Magnitude sparsity levels tried per layer ([] skips the family). Default: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98].' },
    bits: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 12 }, default: DEFAULT_BITS, description: 'Weight-sharing bits tried per layer (k-means with 2^bits clusters, as the share stage; [] skips). Default: [8, 6, 5, 4, 3, 2].' },
    dtype: { type: 'array', items: { enum: ['uint8', 'uint16', 'float16'] }, default: ['uint8'], description: 'Weight storage dtypes tried per layer (as the quantize stage; [] skips). Default: [uint8].' },
    structured: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }, default: [], description: 'Fractions of units/filters removed per layer (the prune stage\'s `method: structured`, L1 norms; the one family that moves latency on dense runtimes). Layers that cannot lose units (the output layer) are skipped. Default: [] (not measured).' },
    metric: { enum: ['auto', 'accuracy', 'agreement'], default: 'auto', description: '`accuracy` needs labels; `agreement` is top-1 agreement with the unmodified model; `auto`: accuracy when the data is labelled, else agreement. Default: auto.' },
    batchSize: { type: 'integer', minimum: 1, default: 512, description: 'Examples per forward pass. Default: 512.' },
    ...targetingSchema({ type: 'object', additionalProperties: false, properties: {}, description: 'No per-layer settings: `{}`.' }),
    recover: recoverySchema,
    memo: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Where single (layer, option) measurements are kept, so a wider sweep measures only the new points.',
      properties: { dir: { type: 'string', default: '.modelpress/sensitivity-memo', description: 'Directory, relative to the recipe. Default: `.modelpress/sensitivity-memo` (beside the default cache).' } },
    },
  },
} as const;

/** Measures a model (the reference, edited in place, or a narrowed copy) on the calibration examples: accuracy, or top-1 agreement with the reference outputs. */
type Measure = (m: LayersModel) => Promise<number>;

async function measurer(ctx: StageContext, tf: Tf, model: LayersModel, calib: Dataset, config: SensitivityConfig, metric: 'accuracy' | 'agreement'): Promise<Measure> {
  if (metric === 'accuracy') return async (m) => (await evaluateAccuracy(tf, m, calib, config.batchSize, ctx.signal)).accuracy;
  // The reference's outputs once; every option is compared with them.
  const outputs = async (m: LayersModel) => {
    const rows: Float32Array[] = [];
    for (let start = 0; start < calib.count; start += config.batchSize) {
      await checkpoint(ctx.signal);
      const idx = Array.from({ length: Math.min(config.batchSize, calib.count - start) }, (_, i) => start + i);
      const { xs, ys } = toTensors(tf, calib, idx);
      const p = m.predict(xs) as Tensor;
      rows.push((await p.data()) as Float32Array);
      tf.dispose([xs, ys, p]);
    }
    return rows;
  };
  const reference = await outputs(model);
  const classes = reference[0]!.length / Math.min(config.batchSize, calib.count);
  return async (m) => {
    const acc = new AgreementAccumulator(classes);
    const candidate = await outputs(m);
    candidate.forEach((c, i) => acc.add(reference[i]!, c, c.length / classes));
    return acc.result().top1;
  };
}

export const sensitivityStage = defineStage<SensitivityConfig>({
  name: 'sensitivity',
  // 2: a dtype point quantizes the layer's biases too (as quantize does), and the structured family.
  version: '2',
  description: 'Per-layer sensitivity: each option (sparsity, sharing bits, dtype, structured ratio) applied to one layer alone, without fine-tuning or with a short one holding it (`recover`), measured on a held-out calibration split.',
  schema: sensitivitySchema,
  outputs: ['sensitivity'],
  datasets: (c) => [['data'], ...(c.recover?.steps && c.recover.data !== undefined ? [['recover', 'data']] : [])],
  async run(ctx, config, inputs) {
    if (!inputs.model) throw new Error('sensitivity needs a model: give the recipe a `model:` (from or build), or put a stage that outputs `model` (e.g. train) in its `needs`');
    const tf = await ctx.engine.tf();
    const model = await ctx.engine.loadModel(inputs.model.dir);
    const source = await ctx.data(config.data);
    const metric = config.metric === 'auto' ? (source.labelled === false ? 'agreement' : 'accuracy') : config.metric;
    if (metric === 'accuracy' && source.labelled === false) {
      throw new StageConfigError(`dataset \`${source.name}\` has no labels, and \`metric: accuracy\` needs them`, ['metric'], ['use `metric: agreement` (or `auto`) to measure top-1 agreement with the unmodified model instead']);
    }
    const [rest, held] = splitDataset(source, config.fraction, ctx.seed);
    if (held.count === 0) throw new StageConfigError(`a fraction of ${config.fraction} of \`${config.data}\` (${source.count} examples) holds out no example`, ['fraction'], ['raise `fraction`, or use more data']);
    // A seeded subset of exactly `samples` examples (the held part of a second split).
    const calib = held.count > config.samples ? splitDataset(held, config.samples / held.count, ctx.seed)[1] : held;

    const all = layerNames(model);
    const eligible = all.filter((n) => kernelVariables(model, n).length > 0);
    const targets = [...selectLayers(eligible, all, {}, { layers: config.layers, exclude: config.exclude }).keys()];
    const options: { family: SensitivityFamily; level: number | string }[] = [
      ...config.sparsity.map((level) => ({ family: 'sparsity' as const, level })),
      ...config.bits.map((level) => ({ family: 'bits' as const, level })),
      ...config.dtype.map((level) => ({ family: 'dtype' as const, level })),
      ...config.structured.map((level) => ({ family: 'structured' as const, level })),
    ];

    const recovery = await makeRecovery(ctx, config.recover, config.data, rest);
    // With recovery every weight of the model moves: the whole model is restored after each point.
    const snapshot = recovery ? model.getWeights().map((w) => w.clone()) : [];
    const measure = await measurer(ctx, tf, model, calib, config, metric);
    // With recovery the accuracy baseline is the unmodified model after the same fine-tune (a control):
    // the drop is then what the option costs, not that minus what the extra training alone gains.
    const control = async () => {
      if (!recovery) return measure(model);
      await recovery.run(model, {});
      const value = await measure(model);
      model.setWeights(snapshot);
      return value;
    };
    const baseline = metric === 'agreement' ? 100 : round6(await control());
    const points: SensitivityPoint[] = [];
    const total = targets.length * options.length;
    const t0 = performance.now();
    const memo = new MeasurementMemo(resolve(ctx.recipeDir, config.memo.dir));
    const keyOf = (layer: string, label: string) =>
      measurementKey({ stage: `sensitivity@${sensitivityStage.version}`, model: inputs.model!.digest, calibration: calib.fingerprint, metric, batchSize: config.batchSize, seed: ctx.seed, layer, setting: label, ...(recovery ? { recovery: JSON.stringify(recovery.record) } : {}) });
    let reused = 0;
    const skipped: string[] = [];
    for (const layer of targets) {
      // Every float tensor of the layer: each option touches the ones its stage would (tensorSetting).
      const vars = (model.getLayer(layer).weights as LayerVariable[]).filter((v) => v.dtype === 'float32');
      const originals = vars.map((v) => ({ v, values: v.read().dataSync().slice() as Float32Array }));
      for (const o of options) {
        await checkpoint(ctx.signal);
        const key = keyOf(layer, settingLabel({ [o.family]: o.level }));
        const known = await memo.get(key);
        if (known !== undefined) {
          reused++;
          points.push({ layer, family: o.family, level: o.level, value: known, dropPp: round6(baseline - known) });
          ctx.progress({ done: points.length, total, unit: 'measurements', message: `${layer} ${o.family} ${o.level} (measured before)` });
          continue;
        }
        let value: number;
        if (o.family === 'structured') {
          const narrowed = await tryRemoveUnits(ctx, model, layer, o.level as number);
          if (typeof narrowed === 'string') {
            skipped.push(`${layer} ${settingLabel({ structured: o.level as number })}: ${narrowed}`);
            continue;
          }
          if (recovery) await recovery.run(narrowed, {});
          value = round6(await measure(narrowed));
          narrowed.dispose();
        } else {
          // A dtype is storage, which float32 training cannot hold: with recovery it is applied after the
          // fine-tune (as the quantize stage after a fine-tuned model), the others before it and held through it.
          const storage = o.family === 'dtype';
          if (recovery && storage) await recovery.run(model, {});
          const held: Constraint[] = [];
          for (const { v, values } of originals) {
            const setting = tensorSetting(v.originalName, values.length, { [o.family]: o.level });
            if (Object.keys(setting).length === 0) continue;
            const random = seededRandom(layerSeed(ctx.seed, model.weights.indexOf(v)));
            const applied = applySetting(storage && recovery ? (v.read().dataSync() as Float32Array) : values, setting, random);
            v.write(tf.tensor(applied.values, v.shape as number[]));
            const c = heldBy(v, applied, setting);
            if (c) held.push(c);
          }
          if (recovery && !storage) await recovery.run(model, constraintHooks(tf, held));
          value = round6(await measure(model));
          if (recovery) model.setWeights(snapshot);
          else for (const { v, values } of originals) v.write(tf.tensor(values, v.shape as number[]));
        }
        await memo.put(key, value);
        points.push({ layer, family: o.family, level: o.level, value, dropPp: round6(baseline - value) });
        ctx.progress({ done: points.length, total, unit: 'measurements', message: `${layer} ${o.family} ${o.level}` });
      }
    }
    const sensitivity: Sensitivity = {
      metric,
      calibration: { data: config.data, fraction: config.fraction, examples: calib.count, seed: ctx.seed },
      baseline,
      ...(recovery ? { recovery: recovery.record } : {}),
      layers: targets,
      points,
    };
    const dir = await ctx.outputDir('sensitivity');
    await mkdir(dir, { recursive: true });
    const encoded = encodeSensitivity(sensitivity);
    await writeFile(join(dir, 'sensitivity.json'), `${JSON.stringify(encoded, null, 2)}\n`);
    await writeFile(join(dir, 'sensitivity.md'), renderSensitivityMarkdown(sensitivity));
    for (const s of skipped) ctx.logger.info(`not measured: ${s}`);
    tf.dispose(snapshot);
    ctx.logger.info(`measured ${points.length - reused} options on ${targets.length} layers in ${Math.round(performance.now() - t0)} ms (${reused} measured before)`);
    return { outputs: { sensitivity: dir }, metrics: encoded as Record<string, Json> };
  },
});
