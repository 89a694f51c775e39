/**
 * Micro-batches in runEpochs: a batch split into slices whose gradients are
 * summed (weighted by their share) trains to the same weights as the whole
 * batch; on wasm a batch that would not fit the heap is split automatically
 * with a notice naming the largest batch that fits, and a model whose single
 * example does not fit fails before the first step with a message that says
 * what to do. The heap limit is lowered for the test (`wasmHeapBytes`): the
 * real 4 GiB limit needs a 224x224 MobileNetV2 to reach (src/engine/wasm-memory.ts).
 */
import type { Dataset } from '../../../src/data/dataset.js';
import { runEpochs } from '../../../src/stages/training/train-loop.js';
import type { TrainingSettings } from '../../../src/stages/training/train-loop.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

const SETTINGS: TrainingSettings = { epochs: 1, batchSize: 100, optimizer: 'sgd', learningRate: 0.1, momentum: 0, schedule: { kind: 'constant' } };

describe('runEpochs micro-batches', () => {
  let h: Harness;
  let data: Dataset;
  beforeAll(async () => {
    h = await createHarness();
    data = await h.ctx().data('train'); // 2,000 images: 20 batches of 100
  });
  afterAll(() => h.cleanup());

  const train = async (settings: TrainingSettings, extra: { wasmHeapBytes?: number; notice?: (m: string) => void } = {}) => {
    const tf = await h.engine.tf();
    const m = await h.engine.buildModel({ arch: 'mlp', units: [16] });
    const r = await runEpochs(tf, m, settings, { data, seed: 5, shuffleSeed: 6, signal: new AbortController().signal, ...extra });
    const weights = await Promise.all(m.getWeights().map(async (w) => Array.from(await w.data())));
    m.dispose();
    return { r, weights };
  };

  test('micro-batches of 30 (30+30+30+10) give the weights of whole batches of 100', async () => {
    const whole = await train(SETTINGS);
    const split = await train({ ...SETTINGS, microBatchSize: 30 });
    expect(whole.r.microBatchSize).toBe(100);
    expect(split.r.microBatchSize).toBe(30);
    expect(split.r.steps).toBe(whole.r.steps);
    expect(split.r.epochs[0]!.loss).toBeCloseTo(whole.r.epochs[0]!.loss, 5);
    let worst = 0;
    whole.weights.flat().forEach((v, i) => (worst = Math.max(worst, Math.abs(v - split.weights.flat()[i]!))));
    expect(worst).toBeLessThan(1e-5);
    expect(worst).toBeGreaterThanOrEqual(0);
  });

  test.each([0, 2.5, -1])('microBatchSize %p is refused', async (bad) => {
    await expect(train({ ...SETTINGS, microBatchSize: bad })).rejects.toThrow(`Expected microBatchSize to be a positive integer, got ${bad}`);
  });

  test('on wasm, a batch that does not fit the heap is split into the largest batch that fits', async () => {
    const notices: string[] = [];
    // An MLP 784-16-10 step holds ~0.1 MB + a few KB per example of tensors; plan within 0.75 of 0.5 MiB.
    const { r } = await train(SETTINGS, { wasmHeapBytes: 2 ** 19, notice: (m) => notices.push(m) });
    expect(r.microBatchSize).toBeGreaterThanOrEqual(1);
    expect(r.microBatchSize).toBeLessThan(100);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      new RegExp(
        `^batch 100 does not fit the wasm heap \\(\\d+\\.\\d MiB \\+ \\d+\\.\\d MiB per example, with \\d+\\.\\d MiB already held; ` +
          `planning within 0\\.4 MiB of the wasm heap's 0\\.5 MiB\\); the largest batch that fits is ${r.microBatchSize}, ` +
          `so each batch runs as micro-batches of ${r.microBatchSize} with gradients summed into one step \\(set microBatchSize to choose\\)$`,
      ),
    );
    expect(r.steps).toBe(20);
  });

  test('on wasm, a model whose one example does not fit fails before training, saying what to do', async () => {
    await expect(train(SETTINGS, { wasmHeapBytes: 1024 })).rejects.toThrow(
      /^A training step of this model needs more than 0\.0 MiB of the wasm heap's 0\.0 MiB on wasm even for one example \(.*\)\. Use a smaller input size, or the cpu or tfjs-node backend, whose memory is not limited to 4 GiB\.$/,
    );
  });

  test('on wasm, a batch that fits is not split and nothing is said', async () => {
    const notices: string[] = [];
    const { r } = await train(SETTINGS, { notice: (m) => notices.push(m) });
    expect(r.microBatchSize).toBe(100);
    expect(notices).toEqual([]);
  });
});
