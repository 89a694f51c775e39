/**
 * The one training loop (runEpochs) that train and every fine-tuning stage
 * share: it stops where its hooks and its abort signal say, and it is
 * deterministic for a seed. Real MNIST (a small slice), real tfjs on wasm.
 */
import type { Dataset } from '../../../src/data/dataset.js';
import { runEpochs } from '../../../src/stages/training/train-loop.js';
import type { TrainingSettings } from '../../../src/stages/training/train-loop.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

const SETTINGS: TrainingSettings = { epochs: 3, batchSize: 100, optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, schedule: { kind: 'cosine', minLearningRate: 1e-4 } };

describe('runEpochs', () => {
  let h: Harness;
  let data: Dataset;
  beforeAll(async () => {
    h = await createHarness();
    data = await h.ctx().data('train'); // 2,000 images: 20 batches of 100
  });
  afterAll(() => h.cleanup());

  const model = () => h.engine.buildModel({ arch: 'mlp', units: [16] });

  test('runs every epoch with the schedule\'s rate, and a second run with the same seeds gives the same weights', async () => {
    const tf = await h.engine.tf();
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const m = await model();
      const r = await runEpochs(tf, m, SETTINGS, { data, seed: 5, shuffleSeed: 6, signal: new AbortController().signal });
      runs.push({ r, weights: await Promise.all(m.getWeights().map((w) => w.data())) });
    }
    const [a, b] = runs;
    expect(a!.r.steps).toBe(3 * 20);
    expect(a!.r.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(a!.r.epochs[0]!.lr).toBeCloseTo(1e-3, 10);
    expect(a!.r.epochs[2]!.lr).toBeCloseTo(1e-4, 10);
    expect(a!.r.epochs[2]!.loss).toBeLessThan(a!.r.epochs[0]!.loss);
    expect(b!.r.epochs.map((e) => e.loss)).toEqual(a!.r.epochs.map((e) => e.loss));
    expect(b!.weights).toEqual(a!.weights);
  });

  test('afterEpoch returning "stop" ends training after that epoch', async () => {
    const tf = await h.engine.tf();
    const seen: number[] = [];
    const r = await runEpochs(tf, await model(), SETTINGS, { data, seed: 5, shuffleSeed: 6, signal: new AbortController().signal }, {
      afterEpoch: (e) => {
        seen.push(e.epoch);
        return e.epoch === 2 ? 'stop' : undefined;
      },
    });
    expect(seen).toEqual([1, 2]);
    expect(r.epochs).toHaveLength(2);
    expect(r.steps).toBe(2 * 20);
  });

  test('an abort stops it at the next batch, not at the end of the epoch, with the signal\'s reason', async () => {
    const tf = await h.engine.tf();
    const abort = new AbortController();
    let steps = 0;
    const run = runEpochs(tf, await model(), SETTINGS, { data, seed: 5, shuffleSeed: 6, signal: abort.signal }, {
      afterStep: (step) => {
        steps = step + 1;
        if (step === 2) abort.abort(new Error('run interrupted'));
      },
    });
    await expect(run).rejects.toThrow('run interrupted');
    expect(steps).toBe(3);
  });
});
