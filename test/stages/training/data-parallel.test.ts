/**
 * Data-parallel training (data-parallel.ts): the shard weights and the
 * shard split as pure functions, and runEpochs with `workers: 2` (a real
 * helper thread loading dist/, so `npm run build` first) against one
 * thread: the same weights within float tolerance (the weighted mean of the
 * shard means is the batch mean), and the same bytes on a second run with
 * the same seed.
 */
import type { Dataset } from '../../../src/data/dataset.js';
import { shardBounds, shardShares, workerCount } from '../../../src/stages/training/data-parallel.js';
import { runEpochs } from '../../../src/stages/training/train-loop.js';
import type { TrainingSettings } from '../../../src/stages/training/train-loop.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

describe('shardShares', () => {
  test.each([
    { name: 'equal shards: halves', counts: [2, 2], shares: [0.5, 0.5] },
    { name: 'unequal shards: by examples', counts: [3, 1], shares: [0.75, 0.25] },
    { name: 'an empty shard counts for nothing', counts: [4, 0], shares: [1, 0] },
    { name: 'thirds, rounded to float32', counts: [1, 1, 1], shares: [Math.fround(1 / 3), Math.fround(1 / 3), Math.fround(1 / 3)] },
  ])('$name', ({ counts, shares }) => {
    expect(shardShares(counts)).toEqual(shares);
  });

  test('refuses shards with no examples', () => {
    expect(() => shardShares([0, 0])).toThrow('Expected shards with examples, got 2 shards holding 0');
  });
});

test.each([
  [10, 2, [[0, 5], [5, 5]]],
  [7, 2, [[0, 4], [4, 3]]],
  [5, 3, [[0, 2], [2, 2], [4, 1]]],
  [1, 2, [[0, 1], [1, 0]]],
])('shardBounds(%p, %p)', (count, workers, expected) => {
  expect(shardBounds(count, workers).map((b) => [b.start, b.count])).toEqual(expected);
});

test.each([0, 1.5, 65, '2'])('workers %p is refused', (bad) => {
  expect(() => workerCount(bad)).toThrow(`Expected workers to be an integer from 1 to 64, got ${JSON.stringify(bad)}`);
});

describe('runEpochs with workers: 2', () => {
  const SETTINGS: TrainingSettings = { epochs: 1, batchSize: 50, optimizer: 'sgd', learningRate: 0.1, momentum: 0, schedule: { kind: 'constant' } };
  let h: Harness;
  let data: Dataset;
  beforeAll(async () => {
    h = await createHarness();
    const all = await h.ctx().data('train');
    const n = 300; // 6 steps of 50: seconds, not minutes
    data = { ...all, count: n, x: all.x.subarray(0, n * all.shape.reduce((a, b) => a * b, 1)), y: all.y.subarray(0, n) };
  });
  afterAll(() => h.cleanup());

  const train = async (settings: TrainingSettings) => {
    const tf = await h.engine.tf();
    const m = await h.engine.buildModel({ arch: 'mlp', units: [16] });
    const r = await runEpochs(tf, m, settings, { data, seed: 5, shuffleSeed: 6, signal: new AbortController().signal });
    const weights = await Promise.all(m.getWeights().map(async (w) => Array.from(await w.data())));
    m.dispose();
    return { r, weights: weights.flat() };
  };

  test('trains to the weights of one thread (summed shard gradients), and deterministically', async () => {
    const one = await train(SETTINGS);
    const two = await train({ ...SETTINGS, workers: 2 });
    const again = await train({ ...SETTINGS, workers: 2 });
    expect(two.r.steps).toBe(one.r.steps);
    expect(two.r.epochs[0]!.loss).toBeCloseTo(one.r.epochs[0]!.loss, 5);
    let worst = 0;
    let moved = 0;
    one.weights.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - two.weights[i]!));
      moved = Math.max(moved, Math.abs(v));
    });
    expect(moved).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-5);
    expect(again.weights).toEqual(two.weights);
  }, 60_000);

  test("refuses a stage's own loss function", async () => {
    const tf = await h.engine.tf();
    const m = await h.engine.buildModel({ arch: 'mlp', units: [4] });
    await expect(
      runEpochs(tf, m, { ...SETTINGS, workers: 2 }, { data, seed: 1, shuffleSeed: 1, signal: new AbortController().signal }, { loss: () => tf.scalar(0) }),
    ).rejects.toThrow("workers: 2 needs the default loss (a stage's own loss function cannot run in another thread)");
    m.dispose();
  });
});
