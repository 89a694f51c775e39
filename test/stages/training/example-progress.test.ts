/**
 * Progress inside a pass over examples: time-based reports with done/total,
 * rate and ETA (unit, on a fake clock), the interval from the environment,
 * and a real train stage on a small MNIST slice whose epoch reports
 * intermediate progress when the interval is small.
 */
import type { StageProgress } from '../../../src/plugin.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, ExampleProgress, PROGRESS_INTERVAL_ENV, progressIntervalMs } from '../../../src/stages/training/example-progress.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness } from '../harness.js';

describe('ExampleProgress', () => {
  test('reports at most once per interval, with done, total, rate and ETA', () => {
    let t = 0;
    const reports: StageProgress[] = [];
    const p = new ExampleProgress((r) => reports.push(r), { total: 1000, label: 'epoch 1/2', intervalMs: 1000, now: () => t });
    // [ms since start, examples in the batch]
    for (const [at, n] of [[400, 100], [900, 100], [1000, 100], [1500, 100], [2500, 200]] as const) {
      t = at;
      p.add(n);
    }
    expect(reports).toEqual([
      { done: 300, total: 1000, unit: 'examples', message: 'epoch 1/2', rate: 300, etaSeconds: 2.3 },
      { done: 600, total: 1000, unit: 'examples', message: 'epoch 1/2', rate: 240, etaSeconds: 1.7 },
    ]);
  });

  test.each([
    [undefined, DEFAULT_PROGRESS_INTERVAL_MS],
    ['', DEFAULT_PROGRESS_INTERVAL_MS],
    ['250', 250],
    ['0', 0],
  ])('MODELPRESS_PROGRESS_MS %p gives an interval of %p ms', (value, ms) => {
    expect(progressIntervalMs({ [PROGRESS_INTERVAL_ENV]: value })).toBe(ms);
  });

  test.each(['soon', '-1'])('a bad %s is refused naming the variable', (value) => {
    expect(() => progressIntervalMs({ [PROGRESS_INTERVAL_ENV]: value })).toThrow(`Expected MODELPRESS_PROGRESS_MS to be a number of milliseconds >= 0, got "${value}"`);
  });
});

describe('progress within an epoch of the train stage', () => {
  const saved = process.env[PROGRESS_INTERVAL_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[PROGRESS_INTERVAL_ENV];
    else process.env[PROGRESS_INTERVAL_ENV] = saved;
  });

  test('a small interval shows intermediate reports with increasing done and a plausible rate', async () => {
    process.env[PROGRESS_INTERVAL_ENV] = '0';
    const h = await createHarness({ model: { build: { arch: 'mlp', units: [8] } } });
    try {
      const ctx = h.ctx('train');
      const r = await trainStage.run(ctx, { data: 'train', epochs: 1, batchSize: 100, optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, schedule: { kind: 'constant' } } as never, { upstream: [] });
      expect(r.outputs.model).toBeDefined();
      const within = ctx.progressEvents.filter((e) => e.unit === 'examples');
      // 2,000 examples in batches of 100: a report after every batch with interval 0.
      expect(within.map((e) => e.done)).toEqual(Array.from({ length: 20 }, (_, i) => 100 * (i + 1)));
      for (const e of within) {
        expect(e).toMatchObject({ total: 2000, message: 'epoch 1/1' });
        // A tiny MLP on wasm: more than 10 and fewer than 10 million examples a second.
        expect(e.rate).toBeGreaterThan(10);
        expect(e.rate).toBeLessThan(1e7);
      }
      expect(within.at(-1)!.etaSeconds).toBe(0);
      // The per-epoch report still follows.
      expect(ctx.progressEvents.at(-1)).toMatchObject({ done: 1, total: 1, unit: 'epochs' });
    } finally {
      await h.cleanup();
    }
  }, 60000);
});
