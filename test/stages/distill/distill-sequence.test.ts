/**
 * Distillation between sequence models (issue 21): an LSTM-64 teacher over
 * MNIST rows (28 steps of 28 features, a 3-D input per batch) teaches an
 * LSTM-16 student given by directory; the distillation loss falls within a
 * few steps and the student stays a stock tfjs LSTM.
 */
import { join } from 'node:path';
import { distillStage } from '../../../src/stages/distill/distill.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { stockLoad } from '../../helpers/functional-model.js';
import { buildRowModel, fitBriefly } from '../../helpers/sequence-models.js';

describe('distill: sequence models', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ data: { rows: { uses: 'mnist', split: 'train', limit: 128 } } });
  });
  afterAll(() => h.cleanup());

  test('LSTM 64 -> LSTM 16 on 3-D inputs: loss decreases over 3 epochs of 2 steps', async () => {
    const tf = await h.engine.tf();
    const teacher = buildRowModel(tf, 11, [32, 64]);
    await fitBriefly(tf, teacher, await h.ctx().data('rows'), 2);
    const teacherDir = join(h.dir, 'teacher');
    await h.engine.saveModel(teacher, teacherDir);
    const studentDir = join(h.dir, 'student-init');
    await h.engine.saveModel(buildRowModel(tf, 21, [8, 16]), studentDir);

    const r = await h.run(distillStage, { teacher: teacherDir, student: { from: studentDir }, data: 'rows', epochs: 3, batchSize: 64, learningRate: 0.01 }, modelInput(await h.artifact(teacherDir)));
    const m = r.metrics as Record<string, any>;
    const history = m.history as { epoch: number; loss: number }[];
    expect(history).toHaveLength(3);
    expect(history[2]!.loss).toBeLessThan(history[0]!.loss);
    expect(m.compression).toBeGreaterThan(5);
    const student = await stockLoad(tf, r.outputs.model!);
    expect(student.getLayer('lstm').getClassName()).toBe('LSTM');
    expect((student.getLayer('lstm').getWeights()[1]!.shape)).toEqual([16, 64]);
  });
});
