/**
 * The distill stage with the functional MobileNet-shaped fixture as the
 * teacher (a directory, like a user's model; its softmax output is stripped
 * in a training copy) and a small MLP student on tiny 8x8x3 data: the student
 * is trained toward the teacher's outputs and stock tfjs loads it.
 */
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { distillStage } from '../../../src/stages/distill/distill.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';
import { functionalInputs, saveFunctionalModel, stockLoad, writeTinyImages } from '../../helpers/functional-model.js';

describe('distill from a functional teacher', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ data: { tiny: { uses: 'npy', x: 'tiny-x.npy', y: 'tiny-y.npy' } } });
    await writeTinyImages(h.dir);
  });
  afterAll(() => h.cleanup());

  test('the student moves toward the teacher: loss down, KL to the teacher below the fresh student; stock tfjs loads it', async () => {
    const tf = await h.engine.tf();
    const { model: teacher } = await saveFunctionalModel(h.engine, join(h.dir, 'models'));
    const r = await h.run(distillStage, {
      teacher: './models/functional',
      student: { build: { arch: 'mlp', units: [16], inputShape: [8, 8, 3] } },
      data: 'tiny',
      eval: 'tiny',
      epochs: 6,
      batchSize: 16,
      learningRate: 0.01,
      alpha: 0,
    });
    const m = r.metrics as Record<string, any>;
    expect(m.teacherParams).toBe(teacher.countParams());
    expect(m.studentParams).toBe(192 * 16 + 16 + 16 * 10 + 10);
    const losses = (m.history as { loss: number }[]).map((e) => e.loss);
    expect(losses).toHaveLength(6);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const student = await stockLoad(tf, r.outputs.model!);
    // Soft targets: the student's distribution gets closer to the teacher's (KL on held inputs of the training set).
    const x = tf.tensor(functionalInputs(64, 5), [64, 8, 8, 3]);
    const kl = (p: Tensor, q: Tensor) => tf.tidy(() => tf.sum(tf.mul(p, tf.log(tf.div(tf.add(p, 1e-7), tf.add(q, 1e-7))))).dataSync()[0]! / 64);
    const t = teacher.predict(x) as Tensor;
    const fresh = await h.engine.buildModel({ arch: 'mlp', units: [16], inputShape: [8, 8, 3] });
    expect(kl(t, student.predict(x) as Tensor)).toBeLessThan(kl(t, fresh.predict(x) as Tensor));
  });
});
