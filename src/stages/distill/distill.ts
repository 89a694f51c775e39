/**
 * Built-in stage `distill`: knowledge distillation (Hinton, Vinyals & Dean,
 * "Distilling the Knowledge in a Neural Network", 2015). A small student
 * model is trained on a transfer set to match a large teacher's softened
 * output distribution, softmax(z / T), as well as the hard labels; the loss
 * is in distill-loss.ts. Both models are used through logits views
 * (distill-logits.ts): softmax outputs are stripped for training, and the
 * saved student keeps its softmax.
 *
 * Where the models come from:
 * - teacher: an upstream stage's model (`teacher: train`, a bare stage id,
 *   which must be in this stage's `needs:`), or a model directory relative to
 *   the recipe (`teacher: ./models/big`, anything that is not a bare id);
 * - student: `{ build: <spec> }`, `{ from: <dir> }`, `{ stage: <id> }`, or by
 *   default the first upstream model that is not the teacher's.
 *
 * The teacher's logits for the transfer set are computed once before
 * training (`precomputeTeacher`): the teacher is usually many times the
 * student's size, so running it every epoch would dominate the cost. They
 * travel with the inputs as extra columns of the dataset handed to the shared
 * `finetune` loop (whose loss hook sees only the batch tensors), and are
 * split off again in the loss.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { exampleSize } from '../../data/dataset.js';
import { buildSpecSchema } from '../training/build-schema.js';
import type { BuildSpec } from '../../engine/builders.js';
import type { Tf } from '../../engine/tf.js';
import type { Json, StageContext, StageInputs } from '../../plugin.js';
import { StageConfigError, defineStage } from '../../stage-definition.js';
import { copyWeightsByLayer, logitsView } from './distill-logits.js';
import { distillationLoss } from './distill-loss.js';
import { finetune, finetuneSchema } from '../training/finetune.js';
import type { TrainingSettings } from '../training/train-loop.js';
import { selectLayers, targetingSchema } from '../training/layer-targeting.js';
import { evaluateAccuracy } from '../training/train-loop.js';
import { ExampleProgress } from '../training/example-progress.js';
import { earlyStoppingSchema, epochValidator, splitValidation, validationSchema } from '../training/validation.js';
import type { EarlyStoppingConfig, ValidationConfig } from '../training/validation.js';
import { checkpoint } from '../training/abort-checkpoint.js';

/** Per-layer settings under `layers:`. */
export interface DistillLayerSettings {
  trainable: boolean;
}

export interface DistillConfig extends TrainingSettings {
  teacher: string;
  student: { build?: BuildSpec; from?: string; stage?: string };
  data: string;
  temperature: number;
  alpha: number;
  precomputeTeacher: boolean;
  validation?: ValidationConfig;
  earlyStopping?: EarlyStoppingConfig;
  eval?: string;
  layers: Record<string, Partial<DistillLayerSettings>>;
  exclude: string[];
}

/** A recipe stage id (schemas/recipe.schema.json `$defs.identifier`): a bare id names a stage, anything else is a path. */
const STAGE_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

const buildSchema = buildSpecSchema("Build a fresh student, as the recipe's `model.build` (seeded from the recipe seed).");

const layerSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Settings for the student layers a pattern matches.',
  properties: {
    trainable: { type: 'boolean', default: true, description: 'false: keep these layers\' weights fixed while distilling.' },
  },
} as const;

const targeting = targetingSchema(layerSettingsSchema);
const ft = finetuneSchema.properties;

export const distillSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['teacher'],
  properties: {
    teacher: {
      type: 'string',
      minLength: 1,
      description: 'The teacher model: a bare stage id (`train`; that stage must be in `needs:`) for its output model, or a model directory relative to the recipe (`./models/big`).',
    },
    student: {
      type: 'object',
      additionalProperties: false,
      maxProperties: 1,
      default: {},
      description: 'The student: `build:` a fresh model, `from:` a model directory relative to the recipe, or `stage:` an upstream stage\'s model. `{}`: the first upstream model that is not the teacher\'s.',
      properties: {
        build: buildSchema,
        from: { type: 'string', minLength: 1, description: 'A tfjs model directory (or model.json), relative to the recipe.' },
        stage: { type: 'string', pattern: STAGE_ID.source, description: 'An upstream stage (in `needs:`) whose model is the student.' },
      },
    },
    data: { type: 'string', default: 'train', description: 'Transfer set: the dataset (a name under `data:`) the student learns the teacher\'s outputs on.' },
    temperature: { type: 'number', exclusiveMinimum: 0, default: 4, description: 'T: softens both models\' output distributions in the soft term.' },
    alpha: { type: 'number', minimum: 0, maximum: 1, default: 0.1, description: 'Weight of the hard-label cross-entropy; the soft (teacher) term gets 1 - alpha.' },
    epochs: { ...ft.epochs, minimum: 1, default: 5, description: 'Passes over the transfer set.' },
    batchSize: { ...ft.batchSize, description: 'Examples per optimizer step.' },
    optimizer: { ...ft.optimizer, description: 'sgd, momentum or adam.' },
    learningRate: { ...ft.learningRate, default: 0.001, description: 'Initial learning rate.' },
    momentum: { ...ft.momentum, description: 'For `optimizer: momentum`.' },
    schedule: { ...ft.schedule, description: 'Learning-rate schedule over epochs (as in `train`).' },
    precomputeTeacher: {
      type: 'boolean',
      default: true,
      description: 'Compute the teacher\'s logits for the transfer set once, before training (false: run the teacher on every batch; slower, less memory).',
    },
    // No `default:` on these two: a recipe without them keeps the cache key it had before they existed.
    validation: {
      ...validationSchema,
      description: 'Held-out data the distilled student is validated on after every epoch (hard-label accuracy and loss), for `earlyStopping`: another dataset, or a fraction split off the transfer set (seeded, before the teacher\'s logits are computed). Unset: no validation.',
    },
    earlyStopping: {
      ...earlyStoppingSchema,
      description: 'Stop when the student\'s monitored validation value has not improved for `patience` epochs; the best epoch\'s weights are kept. Needs `validation`.',
    },
    eval: { type: 'string', description: 'Dataset to report accuracy on: the distilled student (`accuracy`), the student before (`accuracyBefore`) and the teacher (`teacherAccuracy`). Unset: no evaluation.' },
    layers: { ...targeting.layers, default: {} },
    exclude: { ...targeting.exclude, default: [] },
  },
} as const;

export const distillStage = defineStage<DistillConfig>({
  name: 'distill',
  version: '1',
  description: 'Knowledge distillation: train a student to match a teacher\'s softened outputs (Hinton et al. 2015).',
  schema: distillSchema,
  outputs: ['model'],
  // Names read with this config, so `validate` catches an undeclared one before anything trains.
  datasets: (c) => [['data'], ...(c.validation?.data ? [['validation', 'data']] : []), ...(c.eval ? [['eval']] : [])],
  // Models given by path are read at run time: their content must be in the key.
  fileInputs(config) {
    const files: string[] = [];
    if (!STAGE_ID.test(config.teacher)) files.push(config.teacher);
    if (config.student?.from) files.push(config.student.from);
    return files;
  },
  async run(ctx, config, inputs) {
    const tf = await ctx.engine.tf();
    const teacher = await resolveTeacher(ctx, config, inputs);
    const student = await resolveStudent(ctx, config, inputs, teacher.stage);
    const all = await ctx.data(config.data);
    checkModels(teacher.model, student.model, all);
    // Held-out examples leave the transfer set before the teacher sees it.
    const { fit: transfer, val } = await splitValidation(ctx, config.validation, config.earlyStopping, all);
    const evalSet = config.eval ? await ctx.data(config.eval) : undefined;

    const teacherView = await logitsView(tf, teacher.model, 'teacher');
    const studentView = await logitsView(tf, student.model, 'student');
    ctx.logger.info(teacherView.note);
    ctx.logger.info(studentView.note);

    // Targeting: layers left out (or `trainable: false`) are frozen in the training copy.
    const names = student.model.layers.map((l) => l.name);
    const eligible = student.model.layers.filter((l) => l.weights.length > 0).map((l) => l.name);
    const selected = selectLayers(eligible, names, { trainable: true }, { layers: config.layers, exclude: config.exclude });
    const trained = new Set(eligible.filter((n) => selected.get(n)?.trainable === true));
    if (trained.size === 0) {
      throw new StageConfigError('no student layer is left to train', Object.keys(config.layers).length > 0 ? ['layers'] : ['exclude'], [`layers with weights: ${eligible.join(', ')}`]);
    }
    for (const layer of studentView.model.layers) if (layer.weights.length > 0) layer.trainable = trained.has(layer.name);
    const before = await layerWeights(student.model, eligible);

    const accuracyBefore = evalSet ? (await evaluateAccuracy(tf, student.model, evalSet, 512, ctx.signal)).accuracy : undefined;
    const t0 = performance.now();
    const data = config.precomputeTeacher ? await withTeacherColumns(ctx, tf, teacherView.model, transfer, config.epochs) : transfer;
    const teacherLogitsMs = Math.round(performance.now() - t0);
    const size = exampleSize(transfer);
    const classes = transfer.classes;
    const opts = { temperature: config.temperature, alpha: config.alpha };
    const loss = (xs: Tensor, ys: Tensor, training: boolean): Scalar => {
      if (!config.precomputeTeacher) {
        const zt = teacherView.model.apply(xs, { training: false }) as Tensor;
        return distillationLoss(tf, studentView.model.apply(xs, { training }) as Tensor, zt, ys, opts);
      }
      const n = xs.shape[0]!;
      const input = tf.reshape(tf.slice(xs, [0, 0], [n, size]), [n, ...transfer.shape]);
      const zt = tf.slice(xs, [0, size], [n, classes]);
      return distillationLoss(tf, studentView.model.apply(input, { training }) as Tensor, zt, ys, opts);
    };

    // Validation runs on the saved form of the student (with its softmax), so
    // the weights trained in the logits view are copied over first; the
    // best epoch's weights are kept in that form too.
    const validator = epochValidator(ctx, tf, {
      model: student.model,
      ...(val ? { val, sync: () => copyWeightsByLayer(studentView.model, student.model) } : {}),
      ...(config.earlyStopping ? { earlyStopping: config.earlyStopping } : {}),
      total: config.epochs,
      unit: 'fine-tune epochs',
    });
    const t1 = performance.now();
    const { epochs, losses } = await finetune(
      ctx,
      studentView.model,
      {
        data: config.data,
        epochs: config.epochs,
        batchSize: config.batchSize,
        optimizer: config.optimizer,
        learningRate: config.learningRate,
        momentum: config.momentum,
        schedule: config.schedule,
      },
      { loss, afterEpoch: validator.afterEpoch },
      data,
    );
    const distillMs = Math.round(performance.now() - t1);
    copyWeightsByLayer(studentView.model, student.model);
    const { bestEpoch, kept } = validator.restoreBest();

    const teacherParams = teacher.model.countParams();
    const studentParams = student.model.countParams();
    const after = await layerWeights(student.model, eligible);
    const layers: Record<string, Json> = {};
    for (const name of eligible) {
      const b = before.get(name)!;
      const a = after.get(name)!;
      layers[name] = { params: b.reduce((s, w) => s + w.length, 0), trained: trained.has(name), relativeChange: relativeChange(b, a) };
    }
    const quality: Record<string, Json> = {
      temperature: config.temperature,
      alpha: config.alpha,
      epochs,
      loss: losses.at(-1) ?? null,
      // Without validation, history holds exactly what it did before validation existed (same meta.json bytes).
      history: validator.history.map((h) => ({ epoch: h.epoch!, loss: h.loss!, ...(val ? { val_loss: h.val_loss!, val_acc: h.val_acc! } : {}) })),
      teacherParams,
      studentParams,
      compression: round(teacherParams / studentParams, 4),
    };
    if (val) {
      quality.validation = config.validation!.data ?? `${config.validation!.split} of ${config.data}`;
      quality.val_acc = kept!.val_acc!;
      if (bestEpoch !== undefined) quality.bestEpoch = bestEpoch;
    }
    if (evalSet) {
      const e = await evaluate(tf, teacher.model, student.model, evalSet, ctx.signal);
      quality.evalDataset = config.eval!;
      quality.accuracy = e.student;
      quality.accuracyBefore = accuracyBefore!;
      quality.teacherAccuracy = e.teacher;
      quality.teacherAgreement = e.agreement;
    }

    const dir = await ctx.outputDir('model');
    await ctx.engine.saveModel(student.model, dir);
    // meta.json is part of the artifact: only reproducible content (no wall
    // times, no absolute paths, which differ between cache directories).
    const meta = {
      stage: 'distill',
      teacher: { ...teacher.source, outputLayer: teacherView.outputLayer, softmaxStripped: teacherView.strippedSoftmax },
      student: { ...student.source, outputLayer: studentView.outputLayer, softmaxStripped: studentView.strippedSoftmax },
      metrics: quality,
      layers,
    };
    await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    for (const m of [teacher.model, teacherView.model, studentView.model, student.model]) m.dispose();
    return { outputs: { model: dir }, metrics: { ...quality, teacherLogitsMs, distillMs, layers } };
  },
});

interface Resolved {
  model: LayersModel;
  /** Reproducible description for meta.json. */
  source: Record<string, Json>;
  /** The upstream stage id, when the model came from one. */
  stage?: string;
}

async function resolveTeacher(ctx: StageContext, config: DistillConfig, inputs: StageInputs): Promise<Resolved> {
  const t = config.teacher;
  if (STAGE_ID.test(t)) {
    const up = upstreamModel(inputs, t);
    if (!up) {
      throw new StageConfigError(`teacher \`${t}\` is not an upstream stage of this one: add it to this stage's \`needs:\``, ['teacher'], [
        `upstream stages: ${upstreamList(inputs)}`,
        `a model directory named \`${t}\` is written as a path: \`./${t}\``,
      ]);
    }
    return { model: await ctx.engine.loadModel(up.dir), source: { stage: t, digest: up.digest }, stage: t };
  }
  return { model: await loadPath(ctx, t, ['teacher'], 'teacher'), source: { from: t } };
}

async function resolveStudent(ctx: StageContext, config: DistillConfig, inputs: StageInputs, teacherStage: string | undefined): Promise<Resolved> {
  const s = config.student;
  if (s.build) {
    try {
      return { model: await ctx.engine.buildModel(s.build), source: { build: s.build as unknown as Json } };
    } catch (err) {
      if (err instanceof TypeError) throw new StageConfigError(`student.build: ${err.message}`, ['student', 'build']);
      throw err;
    }
  }
  if (s.from) return { model: await loadPath(ctx, s.from, ['student', 'from'], 'student'), source: { from: s.from } };
  if (s.stage) {
    const up = upstreamModel(inputs, s.stage);
    if (!up) {
      throw new StageConfigError(`student stage \`${s.stage}\` is not an upstream stage of this one: add it to this stage's \`needs:\``, ['student', 'stage'], [
        `upstream stages: ${upstreamList(inputs)}`,
      ]);
    }
    return { model: await ctx.engine.loadModel(up.dir), source: { stage: s.stage, digest: up.digest }, stage: s.stage };
  }
  const up = inputs.upstream.find((u) => u.outputs.model && u.stage !== teacherStage);
  if (!up) {
    const why = teacherStage ? `the teacher \`${teacherStage}\` is this stage's only upstream model` : 'no upstream stage outputs a model';
    throw new StageConfigError(`no student model: ${why}; set \`student: { build: ... }\`, \`{ from: <dir> }\` or \`{ stage: <id> }\``, ['student']);
  }
  return { model: await ctx.engine.loadModel(up.outputs.model!.dir), source: { upstream: up.stage, digest: up.outputs.model!.digest }, stage: up.stage };
}

function upstreamModel(inputs: StageInputs, stage: string) {
  return inputs.upstream.find((u) => u.stage === stage && u.outputs.model)?.outputs.model;
}

function upstreamList(inputs: StageInputs): string {
  return inputs.upstream.map((u) => u.stage).join(', ') || '(none)';
}

async function loadPath(ctx: StageContext, path: string, at: string[], label: string): Promise<LayersModel> {
  const abs = resolve(ctx.recipeDir, path);
  if (!existsSync(abs)) {
    throw new StageConfigError(`${label} \`${path}\`: no model at ${abs}`, at, label === 'teacher' ? ['a stage id is written bare, e.g. `teacher: train`'] : []);
  }
  try {
    return await ctx.engine.loadModel(abs);
  } catch (err) {
    throw new StageConfigError(`${label} \`${path}\`: cannot load a tfjs model: ${(err as Error).message}`, at);
  }
}

/** Teacher and student must read the transfer set's examples and agree on its classes. */
function checkModels(teacher: LayersModel, student: LayersModel, ds: Dataset): void {
  const io = (m: LayersModel) => ({ input: (m.inputs[0]?.shape ?? []).slice(1), classes: m.outputs[0]?.shape.at(-1) });
  const t = io(teacher);
  const s = io(student);
  const shape = (x: readonly (number | null)[]) => `[${x.join(', ')}]`;
  if (shape(s.input) !== shape(t.input) || s.classes !== t.classes) {
    throw new StageConfigError(
      `student and teacher do not fit: student takes ${shape(s.input)} and outputs ${s.classes} classes, teacher takes ${shape(t.input)} and outputs ${t.classes}`,
      ['student'],
    );
  }
  if (shape(t.input) !== shape(ds.shape) || t.classes !== ds.classes) {
    throw new StageConfigError(
      `dataset \`${ds.name}\` does not fit the models: its examples are ${shape(ds.shape)} with ${ds.classes} classes, the models take ${shape(t.input)} and output ${t.classes}`,
      ['data'],
    );
  }
}

/**
 * The transfer set with the teacher's logits appended to every example, as a
 * flat dataset of shape [size + classes]: the loss splits them off again.
 * Costs a copy of the transfer set's inputs (plus count x classes floats).
 */
async function withTeacherColumns(ctx: StageContext, tf: Tf, teacher: LayersModel, ds: Dataset, epochs: number): Promise<Dataset> {
  const size = exampleSize(ds);
  const k = ds.classes;
  const width = size + k;
  const x = new Float32Array(ds.count * width);
  const batch = 512;
  const progress = new ExampleProgress((p) => ctx.progress(p), { total: ds.count, label: 'teacher logits' });
  for (let start = 0; start < ds.count; start += batch) {
    await checkpoint(ctx.signal);
    const n = Math.min(batch, ds.count - start);
    const logits = tf.tidy(() => teacher.predict(tf.tensor(ds.x.subarray(start * size, (start + n) * size), [n, ...ds.shape])) as Tensor);
    const z = (await logits.data()) as Float32Array;
    logits.dispose();
    for (let i = 0; i < n; i++) {
      const row = (start + i) * width;
      x.set(ds.x.subarray((start + i) * size, (start + i + 1) * size), row);
      x.set(z.subarray(i * k, (i + 1) * k), row + size);
    }
    progress.add(n);
  }
  ctx.progress({ done: 0, total: epochs, unit: 'fine-tune epochs', message: `teacher logits computed for ${ds.count} examples` });
  return { ...ds, x, shape: [width] };
}

/** Accuracy (percent, `evaluateAccuracy`) of both models, and how often their top-1 classes agree. */
async function evaluate(tf: Tf, teacher: LayersModel, student: LayersModel, ds: Dataset, signal: AbortSignal): Promise<{ teacher: number; student: number; agreement: number }> {
  const t = await evaluateAccuracy(tf, teacher, ds, 512, signal);
  const s = await evaluateAccuracy(tf, student, ds, 512, signal);
  const size = exampleSize(ds);
  let same = 0;
  for (let start = 0; start < ds.count; start += 512) {
    await checkpoint(signal);
    const n = Math.min(512, ds.count - start);
    const hits = tf.tidy(() => {
      const xs = tf.tensor(ds.x.subarray(start * size, (start + n) * size), [n, ...ds.shape]);
      return tf.equal(tf.argMax(teacher.predict(xs) as Tensor, -1), tf.argMax(student.predict(xs) as Tensor, -1)).sum();
    });
    same += (await hits.data())[0]!;
    hits.dispose();
  }
  return { teacher: t.accuracy, student: s.accuracy, agreement: (100 * same) / ds.count };
}

async function layerWeights(model: LayersModel, names: readonly string[]): Promise<Map<string, Float32Array[]>> {
  const out = new Map<string, Float32Array[]>();
  for (const name of names) out.set(name, await Promise.all(model.getLayer(name).getWeights().map(async (w) => (await w.data()) as Float32Array)));
  return out;
}

/** ||after - before|| / ||before|| over all of a layer's weights (null when `before` is all zeros). */
function relativeChange(before: Float32Array[], after: Float32Array[]): number | null {
  let d = 0;
  let b = 0;
  before.forEach((w, i) => {
    const a = after[i]!;
    for (let j = 0; j < w.length; j++) {
      d += (a[j]! - w[j]!) ** 2;
      b += w[j]! ** 2;
    }
  });
  return b === 0 ? null : round(Math.sqrt(d / b), 6);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
