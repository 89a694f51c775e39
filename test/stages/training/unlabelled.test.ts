/**
 * Unlabelled data (`labels: none`: labelled false, labels -1) used where
 * labels are needed is refused before any work, naming the dataset and the
 * use, instead of training on all-zero targets; evaluate's agreement and a
 * stage with its own loss (distill's soft term) still accept it.
 */
import { join } from 'node:path';
import { StageConfigError } from '../../../src/plugin.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { finetune } from '../../../src/stages/training/finetune.js';
import { evaluateAccuracy, runEpochs } from '../../../src/stages/training/train-loop.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

const FOLDERS = join(import.meta.dirname, '../../fixtures/images/folders');
const SETTINGS = { epochs: 1, batchSize: 4, optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, schedule: { kind: 'constant' } } as const;

describe('unlabelled data where labels are needed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      model: { build: { arch: 'mlp', units: [4], inputShape: [28, 28, 1] } },
      data: { photos: { uses: 'images', path: FOLDERS, labels: 'none', size: [28, 28], channels: 1 } },
    });
  });
  afterAll(() => h.cleanup());

  test('train refuses it at `data`, before training', async () => {
    const err = await h.run(trainStage, { data: 'photos', epochs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect(err).toMatchObject({ message: 'dataset `photos` has no labels, and the train stage needs them', path: ['data'] });
  });

  test('fine-tuning refuses it at `finetune.data`', async () => {
    const model = await h.engine.buildModel({ arch: 'mlp', units: [4], inputShape: [28, 28, 1] });
    const err = await finetune(h.ctx(), model, { data: 'photos', ...SETTINGS }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'dataset `photos` has no labels, and fine-tuning needs them', path: ['finetune', 'data'] });
    model.dispose();
  });

  test('accuracy and the default loss refuse it; a loss of the stage\'s own accepts it', async () => {
    const tf = await h.engine.tf();
    const ds = await h.ctx().data('photos');
    const model = await h.engine.buildModel({ arch: 'mlp', units: [4], inputShape: [28, 28, 1] });
    await expect(evaluateAccuracy(tf, model, ds, 4)).rejects.toThrow(
      'dataset `photos` has no labels, and accuracy needs them; evaluate judges unlabelled data by agreement with a reference model',
    );
    const opts = { data: ds, seed: 1, shuffleSeed: 2, signal: new AbortController().signal };
    await expect(runEpochs(tf, model, SETTINGS, opts)).rejects.toThrow('dataset `photos` has no labels, and training needs them');
    // A soft loss that reads no labels (as distill's teacher term): trains.
    const r = await runEpochs(tf, model, SETTINGS, opts, { loss: (xs) => tf.mean(tf.square(model.apply(xs, { training: true }) as never)) as never });
    expect(r.steps).toBe(2);
    model.dispose();
  });
});
