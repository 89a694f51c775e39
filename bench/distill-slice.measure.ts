/**
 * Measurement, not a test (lives in bench/, outside `npm test`): a teacher
 * MLP [300, 100] trained 3 epochs on the 2,000-image MNIST slice teaches a
 * student MLP [30]; the same student trained alone with the same epochs,
 * optimizer and seed is the baseline. Test accuracy on 1,000 test images.
 *
 *   MODELPRESS_MEASURE=1 node --experimental-vm-modules node_modules/jest/bin/jest.js --roots bench --testMatch '<rootDir>/bench/distill-slice.measure.ts'
 *
 * Optional: MEASURE_SEEDS=1,2,3  MEASURE_LR=0.001,0.005  MEASURE_EPOCHS=3 (student)
 * MEASURE_TEACHER=3:0.001 (teacher epochs:learningRate)  MEASURE_GRID=4:0.1,4:0.5 (T:alpha)
 * MEASURE_TIMING=1: precomputed vs per-batch teacher logits, 5 epochs, median of 3.
 */
import type { Json } from '../src/plugin.js';
import { distillStage } from '../src/stages/distill/distill.js';
import { trainStage } from '../src/stages/train/train.js';
import type { Tensor } from '@tensorflow/tfjs';
import { createHarness } from '../test/stages/harness.js';
import type { Harness } from '../test/stages/harness.js';

const enabled = process.env.MODELPRESS_MEASURE === '1';
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const SEEDS = list(process.env.MEASURE_SEEDS, [1, 2, 3]);
const LRS = list(process.env.MEASURE_LR, [0.001, 0.005]);
const EPOCHS = list(process.env.MEASURE_EPOCHS, [3])[0]!;
const pairs = (v: string | undefined, d: [number, number][]) => (v ? v.split(',').map((p) => p.split(':').map(Number) as [number, number]) : d);
const GRID = pairs(process.env.MEASURE_GRID, [
  [1, 0.1],
  [2, 0.1],
  [4, 0.1],
  [8, 0.1],
  [4, 0],
  [4, 0.5],
  [20, 0.1],
]);
const [TEACHER_EPOCHS, TEACHER_LR] = pairs(process.env.MEASURE_TEACHER, [[3, 0.001]])[0]!;
const DATA: Record<string, Json> = {
  train: { uses: 'mnist', split: 'train', limit: 2000, flatten: true },
  test: { uses: 'mnist', split: 'test', limit: 1000, flatten: true },
};

/** Percent of test images on which the two models' top-1 classes agree. */
async function agree(h: Harness, a: string, b: string): Promise<number> {
  const tf = await h.engine.tf();
  const [ma, mb] = [await h.engine.loadModel(a), await h.engine.loadModel(b)];
  const ds = await h.ctx().data('test');
  const same = tf.tidy(() => {
    const xs = tf.tensor(ds.x, [ds.count, ...ds.shape]);
    return tf.equal(tf.argMax(ma.predict(xs) as Tensor, -1), tf.argMax(mb.predict(xs) as Tensor, -1)).sum();
  });
  return (100 * (await same.data())[0]!) / ds.count;
}

(enabled ? describe : describe.skip)('distill measurement', () => {
  test('teacher [300,100] -> student [30]: alone vs distilled', async () => {
    const rows: string[] = [];
    for (const seed of SEEDS) {
      const th = await createHarness({ seed, data: DATA, model: { build: { arch: 'mlp', units: [300, 100] } } });
      const t = await th.run(trainStage, { data: 'train', eval: 'test', epochs: TEACHER_EPOCHS, learningRate: TEACHER_LR });
      const teacher = await th.artifact(t.outputs.model!);
      const up = { upstream: [{ node: 'teach', stage: 'teach', matrix: {}, outputs: { model: teacher }, metrics: {} }], model: teacher };
      rows.push(`seed ${seed}: teacher acc ${t.metrics!.accuracy} (${t.metrics!.trainMs} ms)`);
      const sh = await createHarness({ seed, data: DATA, model: { build: { arch: 'mlp', units: [30] } } });
      for (const lr of LRS) {
        const alone = await sh.run(trainStage, { data: 'train', eval: 'test', epochs: EPOCHS, learningRate: lr });
        const agreement = await agree(sh, teacher.dir, alone.outputs.model!);
        rows.push(`seed ${seed} lr ${lr}: student alone acc ${alone.metrics!.accuracy} agreement ${agreement} (${alone.metrics!.trainMs} ms)`);
        for (const [T, alpha] of GRID) {
          const d = await th.run(distillStage, { teacher: 'teach', student: { build: { arch: 'mlp', units: [30] } }, eval: 'test', epochs: EPOCHS, learningRate: lr, temperature: T, alpha }, up);
          const m = d.metrics!;
          rows.push(`seed ${seed} lr ${lr}: distilled T=${T} alpha=${alpha} acc ${m.accuracy} agreement ${m.teacherAgreement} (logits ${m.teacherLogitsMs} ms, distill ${m.distillMs} ms)`);
        }
      }
      if (process.env.MEASURE_TIMING === '1') {
        const config = { teacher: 'teach', student: { build: { arch: 'mlp', units: [30] } }, epochs: 5 };
        const ms: Record<string, number[]> = { precomputed: [], perBatch: [] };
        for (let rep = 0; rep < 3; rep++) {
          for (const [key, precomputeTeacher] of [['precomputed', true], ['perBatch', false]] as const) {
            const r = await th.run(distillStage, { ...config, precomputeTeacher }, up);
            ms[key]!.push((r.metrics!.teacherLogitsMs as number) + (r.metrics!.distillMs as number));
          }
        }
        const median = (x: number[]) => [...x].sort((a, b) => a - b)[1]!;
        rows.push(`seed ${seed}: 5 epochs, teacher logits + training ms, median of 3: precomputed ${median(ms.precomputed!)} (${ms.precomputed}), per batch ${median(ms.perBatch!)} (${ms.perBatch})`);
      }
      await th.cleanup();
      await sh.cleanup();
    }
    process.stdout.write(`${rows.join('\n')}\n`);
  }, 1_800_000);
});
