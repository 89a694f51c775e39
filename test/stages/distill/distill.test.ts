/**
 * The distill stage in-process on real MNIST slices: a small trained teacher
 * (by upstream stage id, and by path) teaches a smaller student; accuracy is
 * reported; the output loads in stock tfjs with its softmax; same seed, same
 * bytes; a validation split is held out of the transfer set and early
 * stopping keeps the best epoch; recipe mistakes are StageConfigErrors at the
 * right key.
 */
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { readModelArtifacts } from '../../../src/engine/model-io.js';
import type { ArtifactRef, Json, StageInputs, StageResult } from '../../../src/plugin.js';
import { StageConfigError } from '../../../src/plugin.js';
import { checkStageConfig } from '../../../src/recipe/validate.js';
import type { TreeNode } from '../../../src/recipe/tree.js';
import { splitDataset } from '../../../src/data/dataset.js';
import { distillStage } from '../../../src/stages/distill/distill.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { evaluateAccuracy } from '../../../src/stages/training/train-loop.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';

const SHARD = 'group1-shard1of1.bin';
const STUDENT = { build: { arch: 'mlp', units: [16] } };
/** Few steps (2 x 32): a higher rate than the default 0.001 so a 16-unit student gets somewhere. */
const BASE = { epochs: 2, learningRate: 0.005 };
const emptyTree = (): TreeNode => ({ kind: 'map', loc: { file: 'test', line: 1, column: 1, sourceLine: '', length: 1 }, entries: new Map() });

describe('distill stage', () => {
  let h: Harness;
  let teacher: ArtifactRef;
  let first: StageResult;
  /** Upstream: the teacher stage `teach`. */
  let fromTeach: StageInputs;

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [64] } } });
    const r = await h.run(trainStage, { data: 'train', epochs: 2, learningRate: 0.005 });
    teacher = await h.artifact(r.outputs.model!);
    fromTeach = { upstream: [{ node: 'teach', stage: 'teach', matrix: {}, outputs: { model: teacher }, metrics: {} }], model: teacher };
  });
  afterAll(() => h.cleanup());

  const run = (config: Record<string, Json>, inputs: StageInputs = fromTeach) => h.run(distillStage, { ...BASE, ...config }, inputs);

  test('teacher by upstream stage id: the student learns, metrics and meta.json report it, stock tfjs loads it', async () => {
    // Run through a context we keep, to read its log and progress.
    const ctx = h.ctx('distill-a');
    await mkdir(ctx.scratchDir, { recursive: true });
    const checked = checkStageConfig(distillStage.schema as never, { ...BASE, teacher: 'teach', student: STUDENT, eval: 'test' }, emptyTree(), []);
    expect(checked.diagnostics).toEqual([]);
    first = await distillStage.run(ctx, checked.config as never, fromTeach);
    expect(ctx.logs).toContain('info teacher: output layer `dense2` ends in softmax; distilling on its logits (softmax stripped in a training copy, kept in the model)');
    expect(ctx.logs).toContain('info student: output layer `dense2` ends in softmax; distilling on its logits (softmax stripped in a training copy, kept in the model)');
    expect(ctx.progressEvents.at(-1)).toMatchObject({ done: 2, total: 2 });
    const m = first.metrics!;
    expect(m.evalDataset).toBe('test');
    expect(m.teacherAccuracy).toBeGreaterThan(80);
    expect(m.accuracyBefore).toBeLessThan(30); // a fresh student is near chance
    expect(m.accuracy).toBeGreaterThan(75);
    expect(m.teacherAgreement).toBeGreaterThan(75);
    expect(m.teacherParams).toBe(784 * 64 + 64 + 64 * 10 + 10);
    expect(m.studentParams).toBe(784 * 16 + 16 + 16 * 10 + 10);
    expect(m.temperature).toBe(4);
    expect(m.alpha).toBe(0.1);
    expect((m.history as { loss: number }[]).map((e) => e.loss)).toHaveLength(2);
    expect(typeof m.distillMs).toBe('number');

    const dir = first.outputs.model!;
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
    expect(meta.teacher).toEqual({ stage: 'teach', digest: teacher.digest, outputLayer: 'dense2', softmaxStripped: true });
    expect(meta.student).toEqual({ build: { arch: 'mlp', units: [16], kernelSize: 3, activation: 'relu', dropout: 0 }, outputLayer: 'dense2', softmaxStripped: true });
    expect(meta.metrics.accuracy).toBe(m.accuracy);
    expect(meta.metrics.distillMs).toBeUndefined();
    expect(meta.layers.dense1).toMatchObject({ params: 784 * 16 + 16, trained: true });
    expect(meta.layers.dense1.relativeChange).toBeGreaterThan(0);

    // Stock tfjs: loadLayersModel from memory, the softmax is still there.
    const tf = await h.engine.tf();
    const model = await tf.loadLayersModel(tf.io.fromMemory(await readModelArtifacts(dir)));
    expect((model.getLayer('dense2').getConfig() as { activation: string }).activation).toBe('softmax');
    const p = (await (model.predict(tf.zeros([3, 784])) as tfTypes.Tensor).array()) as number[][];
    for (const row of p) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  test('same seed and config: identical bytes; teacher by path with the upstream model as student gives the same', async () => {
    const again = await run({ teacher: 'teach', student: STUDENT, eval: 'test' });
    const a = first.outputs.model!;
    const b = again.outputs.model!;
    expect(Buffer.compare(await readFile(join(a, SHARD)), await readFile(join(b, SHARD)))).toBe(0);
    expect(await readFile(join(b, 'model.json'), 'utf8')).toBe(await readFile(join(a, 'model.json'), 'utf8'));
    expect(await readFile(join(b, 'meta.json'), 'utf8')).toBe(await readFile(join(a, 'meta.json'), 'utf8'));

    // The same student, built with the same seed, handed over as the upstream
    // model; the teacher read from a directory next to the recipe.
    await cp(teacher.dir, join(h.dir, 'models', 'teacher'), { recursive: true });
    const studentDir = join(h.dir, 'student0');
    await h.engine.saveModel(await h.engine.buildModel({ arch: 'mlp', units: [16] }), studentDir);
    const byPath = await run({ teacher: 'models/teacher', eval: 'test' }, modelInput(await h.artifact(studentDir)));
    expect(Buffer.compare(await readFile(join(byPath.outputs.model!, SHARD)), await readFile(join(a, SHARD)))).toBe(0);
    expect(byPath.metrics!.accuracy).toBe(first.metrics!.accuracy);
    const meta = JSON.parse(await readFile(join(byPath.outputs.model!, 'meta.json'), 'utf8'));
    expect(meta.teacher.from).toBe('models/teacher');
    expect(meta.student.upstream).toBe('up');
  });

  test('teacher run per batch instead of precomputed: same training up to float rounding', async () => {
    const r = await run({ teacher: 'teach', student: STUDENT, eval: 'test', precomputeTeacher: false });
    expect(Math.abs((r.metrics!.accuracy as number) - (first.metrics!.accuracy as number))).toBeLessThan(1.5);
    const losses = (x: StageResult) => (x.metrics!.history as { loss: number }[]).map((e) => e.loss);
    losses(r).forEach((l, i) => expect(l).toBeCloseTo(losses(first)[i]!, 3));
  });

  test('exclude freezes layers: their bytes do not change', async () => {
    const studentDir = join(h.dir, 'student1');
    await h.engine.saveModel(await h.engine.buildModel({ arch: 'mlp', units: [16] }), studentDir);
    const r = await run({ teacher: 'teach', exclude: ['dense1'], epochs: 1 }, { ...fromTeach, upstream: [...fromTeach.upstream, ...modelInput(await h.artifact(studentDir)).upstream] });
    const layers = r.metrics!.layers as Record<string, { trained: boolean; relativeChange: number }>;
    expect(layers.dense1).toMatchObject({ trained: false, relativeChange: 0 });
    expect(layers.dense2!.trained).toBe(true);
    expect(layers.dense2!.relativeChange).toBeGreaterThan(0);
    const before = await h.engine.loadModel(studentDir);
    const after = await h.engine.loadModel(r.outputs.model!);
    expect(Array.from(await after.getLayer('dense1').getWeights()[0]!.data())).toEqual(Array.from(await before.getLayer('dense1').getWeights()[0]!.data()));
  });

  /** Accuracy of a saved student on the tenth of `train` that `validation: { split: 0.1 }` holds out (harness seed 1). */
  async function heldOutAccuracy(modelDir: string): Promise<number> {
    const tf = await h.engine.tf();
    const [, held] = splitDataset(await h.ctx('val').data('train'), 0.1, 1);
    const model = await h.engine.loadModel(modelDir);
    const { accuracy } = await evaluateAccuracy(tf, model, held, 512);
    model.dispose();
    return accuracy;
  }

  test('validation split: held out of the transfer set before the teacher runs, validated every epoch on the saved student', async () => {
    const ctx = h.ctx('distill-val');
    await mkdir(ctx.scratchDir, { recursive: true });
    const checked = checkStageConfig(distillStage.schema as never, { ...BASE, epochs: 3, teacher: 'teach', student: STUDENT, validation: { split: 0.1 } }, emptyTree(), []);
    expect(checked.diagnostics).toEqual([]);
    const r = await distillStage.run(ctx, checked.config as never, fromTeach);
    // 2,000 training images: 200 held out, the teacher's logits are computed for the other 1,800.
    expect(ctx.progressEvents[0]!.message).toBe('teacher logits computed for 1800 examples');
    expect(ctx.progressEvents.at(-1)!.message).toMatch(/^loss \d+\.\d{4}, val_acc \d+\.\d{2}%, \d+ ms$/);
    const m = r.metrics!;
    expect(m.validation).toBe('0.1 of train');
    const history = m.history as { epoch: number; loss: number; val_loss: number; val_acc: number }[];
    expect(history.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of history) expect(e.val_loss).toBeGreaterThan(0);
    expect(history[2]!.val_acc).toBeGreaterThan(60);
    expect(m.bestEpoch).toBeUndefined(); // no early stopping: the last epoch is kept
    // The reported validation accuracy is the saved model's on exactly the held-out examples.
    expect(m.val_acc).toBe(history[2]!.val_acc);
    expect(await heldOutAccuracy(r.outputs.model!)).toBe(m.val_acc);
    // Held-out examples change what is trained on: not the bytes of the full transfer set's student.
    expect(Buffer.compare(await readFile(join(r.outputs.model!, SHARD)), await readFile(join(first.outputs.model!, SHARD)))).not.toBe(0);
  });

  test('early stopping: a rate far too high stops after `patience` stale epochs and keeps the best epoch\'s weights', async () => {
    const r = await run({ teacher: 'teach', student: STUDENT, epochs: 8, learningRate: 0.5, validation: { split: 0.1 }, earlyStopping: { monitor: 'val_acc', patience: 1 } });
    const m = r.metrics!;
    const history = m.history as { val_acc: number }[];
    expect(m.epochs).toBeLessThan(8);
    expect(history).toHaveLength(m.epochs as number);
    const best = m.bestEpoch as number;
    expect(best).toBeLessThan(m.epochs as number);
    expect(Math.max(...history.map((e) => e.val_acc))).toBe(history[best - 1]!.val_acc);
    // The saved weights are the best epoch's, not the last one's.
    expect(m.val_acc).toBe(history[best - 1]!.val_acc);
    expect(await heldOutAccuracy(r.outputs.model!)).toBe(history[best - 1]!.val_acc);
    const meta = JSON.parse(await readFile(join(r.outputs.model!, 'meta.json'), 'utf8'));
    expect(meta.metrics.bestEpoch).toBe(best);
  });

  async function configError(config: Record<string, Json>, inputs: StageInputs = fromTeach): Promise<StageConfigError> {
    try {
      await run(config, inputs);
    } catch (err) {
      expect(err).toBeInstanceOf(StageConfigError);
      return err as StageConfigError;
    }
    throw new Error('expected a StageConfigError');
  }

  test.each<[string, Record<string, Json>, string, (string | number)[]]>([
    ['teacher id not upstream', { teacher: 'big', student: STUDENT }, 'teacher `big` is not an upstream stage of this one: add it to this stage\'s `needs:`', ['teacher']],
    ['teacher path missing', { teacher: './models/nope', student: STUDENT }, 'teacher `./models/nope`: no model at ', ['teacher']],
    ['no student besides the teacher', { teacher: 'teach' }, 'no student model: the teacher `teach` is this stage\'s only upstream model; set `student: { build: ... }`, `{ from: <dir> }` or `{ stage: <id> }`', ['student']],
    ['student stage not upstream', { teacher: 'teach', student: { stage: 'small' } }, 'student stage `small` is not an upstream stage of this one: add it to this stage\'s `needs:`', ['student', 'stage']],
    ['student of another class count', { teacher: 'teach', student: { build: { arch: 'mlp', units: [8], classes: 5 } } }, 'student and teacher do not fit: student takes [784] and outputs 5 classes, teacher takes [784] and outputs 10', ['student']],
    ['layer pattern matching nothing', { teacher: 'teach', student: STUDENT, layers: { dense9: { trainable: false } } }, 'pattern `dense9` matches no layer of the model', ['layers', 'dense9']],
    ['everything excluded', { teacher: 'teach', student: STUDENT, exclude: ['dense*'] }, 'no student layer is left to train', ['exclude']],
    ['early stopping with nothing held out', { teacher: 'teach', student: STUDENT, earlyStopping: { patience: 2 } }, 'earlyStopping needs held-out data to watch, and this stage has none', ['earlyStopping']],
  ])('%s -> StageConfigError', async (_name, config, message, path) => {
    const err = await configError(config);
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.path).toEqual(path);
  });

  test('the teacher error hints name the upstream stages', async () => {
    const err = await configError({ teacher: 'big', student: STUDENT });
    expect(err.hints).toEqual(['upstream stages: teach', 'a model directory named `big` is written as a path: `./big`']);
  });
});
