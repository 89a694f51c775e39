/**
 * The auto stage with a latency budget on wasm: a wide MLP trained for one
 * epoch on 2,000 MNIST images, a sensitivity table with structured ratios
 * and sparsity, and a device with a p50 budget no model reaches (0.01 ms):
 * the stage measures the latency table, finds nothing fits, and measures the
 * fastest reachable model (the wide layer narrowed most: sparsity does not
 * move latency) as the closest, with predicted vs measured p50/p95 in
 * trials.json and the units' removal in the recipe fragment. (A budget
 * between the narrowed and the unmodified model would depend on the load of
 * the shared machine from one session to the next: that case is
 * bench/auto.mjs's.) Latency budgets on runtimes the table cannot time, or
 * on two runtimes, are located config errors.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createStageHarness, StageConfigError } from '../../../src/plugin.js';
import type { Json, StageInputs } from '../../../src/plugin.js';
import { autoStage } from '../../../src/stages/auto/auto.js';
import type { Trial } from '../../../src/stages/auto/auto.js';
import { ANCHOR_TIMINGS, latencyEnds, machineSpeed } from '../../../src/stages/auto/latency-table.js';
import type { LatencyTable } from '../../../src/stages/auto/latency-table.js';
import { sensitivityStage } from '../../../src/stages/sensitivity/sensitivity.js';
import { trainStage } from '../../../src/stages/train/train.js';
import { createHarness, modelInput, SMALL_MNIST } from '../harness.js';
import type { Harness } from '../harness.js';

describe('auto stage with a latency budget', () => {
  let h: Harness;
  let inputs: StageInputs;

  const withDevices = async (devices: Record<string, Json>) => createStageHarness({ backend: 'wasm', data: SMALL_MNIST, devices });

  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [512] } } });
    const trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
    const model = await h.artifact(trained);
    const sens = await h.run(sensitivityStage, { fraction: 0.1, samples: 200, sparsity: [0.5], bits: [], dtype: [], structured: [0.5, 0.9] }, modelInput(model));
    inputs = {
      model,
      upstream: [
        { node: 'model', stage: 'model', matrix: {}, outputs: { model }, metrics: {} },
        { node: 'sensitivity', stage: 'sensitivity', matrix: {}, outputs: { sensitivity: await h.artifact(sens.outputs.sensitivity!) }, metrics: {} },
      ],
    };
  }, 120_000);
  afterAll(() => h.cleanup());

  test('an unreachable p50: the fastest reachable model is the closest; predicted vs measured latency; the fragment removes units', async () => {
    const raw = await withDevices({ phone: { runtime: 'wasm', threads: 1, batch: 1, budget: { latency_ms_p50: 0.01 } } });
    try {
      const r = await raw.run(autoStage, { trials: 1, baselines: false, finetune: { epochs: 0 }, resume: { dir: join(h.dir, 'trials') }, latency: { dir: join(h.dir, 'latency-memo'), maxSeconds: 0.3, trialSeconds: 0.3 } }, inputs);
      const file = JSON.parse(await readFile(join(r.outputs.search!, 'trials.json'), 'utf8')) as { latencyTable: LatencyTable; trials: Trial[] };
      expect(file.latencyTable.entries.map((e) => `${e.layer} ${e.ratio}`)).toEqual(['dense1 0.5', 'dense1 0.9']);
      expect(file.latencyTable.entries[1]!.dP50Ms).toBeLessThan(0);
      // The fastest reachable model (dense1 at 0.9) is timed too: no prediction goes below it.
      expect(file.latencyTable.floor!.p50Ms).toBeGreaterThan(0);
      const search = file.trials.find((t) => t.kind === 'search')!;
      expect(search.settings).toEqual({ dense1: { structured: 0.9 } });
      // One narrowed layer: the size model prices it by the narrowed model's packed size, exactly.
      expect(search.measured.packedBytes).toBe(search.predicted.packedBytes);
      const m = r.metrics as Record<string, Json>;
      expect(m.met).toBe(false);
      const missed = m.missed as string[];
      expect(missed[0]).toMatch(/^p50 \d+\.\d{3} ms > 0\.010 ms$/);
      expect(missed.at(-1)).toMatch(/^no allocation fits p50 0\.010 ms: the smallest reachable is p50 \d+\.\d{3} ms$/);
      // Predictions start from the machine speed: the unmodified model timed as trials are, ANCHOR_TIMINGS times
      // before the search; the fastest reachable model, in its terms, is what the search measured (its one layer
      // at 0.9 is that model).
      const timings = file.latencyTable.anchorTimings!;
      expect(timings).toHaveLength(ANCHOR_TIMINGS + 1);
      for (const t of timings) expect(t.p50Ms).toBeGreaterThan(0);
      const before = { ...file.latencyTable, anchor: machineSpeed(timings.slice(0, ANCHOR_TIMINGS)) };
      const ends = latencyEnds(before);
      expect(search.predicted.latency!.p50Ms).toBeCloseTo(ends.floor!.p50Ms, 6);
      // The p95: that p50 plus the machine's tail.
      expect(search.predicted.latency!.p95Ms).toBeCloseTo(search.predicted.latency!.p50Ms + ends.base.p95Ms - ends.base.p50Ms, 9);
      for (const t of file.trials) {
        expect(t.predicted.latency!.p50Ms).toBeGreaterThanOrEqual(0);
        expect(t.measured.latency!.p50Ms).toBeGreaterThan(0);
        expect(t.measured.unmodifiedLatency!.p50Ms).toBeGreaterThan(0);
      }
      // 90% of dense1's units (and ~90% of the MACs) gone: faster than the unmodified model timed beside it.
      expect(search.measured.timedLatency!.p50Ms).toBeLessThan(search.measured.unmodifiedLatency!.p50Ms);
      // Judged at the machine speed with the unmodified model timed beside it pooled in: as timed, in proportion to that model.
      expect(timings[ANCHOR_TIMINGS]).toEqual(search.measured.unmodifiedLatency);
      expect(search.measured.judgedAt).toEqual(machineSpeed(timings));
      expect(file.latencyTable.anchor).toEqual(machineSpeed(timings));
      const f = search.measured.judgedAt!.p50Ms / search.measured.unmodifiedLatency!.p50Ms;
      expect(search.measured.latency!.p50Ms).toBeCloseTo(search.measured.timedLatency!.p50Ms * f, 9);
      expect(search.measured.latency!.p95Ms).toBeCloseTo(search.measured.timedLatency!.p95Ms * f, 9);
      expect(typeof m.latencyP50Ms).toBe('number');
      expect(await readFile(join(r.outputs.search!, 'auto.md'), 'utf8')).toContain('p50 / p95 ms (predicted)');
      const fragment = parse(await readFile(join(r.outputs.search!, 'auto.yaml'), 'utf8')) as { stages: { id: string; uses: string; with: Record<string, Json> }[] };
      expect(fragment.stages).toEqual([{ id: 'auto-prune-units', uses: 'prune', with: { method: 'structured', criterion: 'l1', layers: { dense1: { sparsity: 0.9 } } } }]);
    } finally {
      await raw.cleanup();
    }
  }, 120_000);

  test('a latency budget on a runtime the table cannot time is a located error', async () => {
    const raw = await withDevices({ web: { runtime: 'browser', budget: { latency_ms_p95: 3 } } });
    try {
      const err = await raw.run(autoStage, { devices: ['web'] }, inputs).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageConfigError);
      expect((err as StageConfigError).message).toBe('device `web` has a latency budget on runtime `browser`; auto measures latency tables on wasm, cpu, tfjs-node only');
      expect((err as StageConfigError).path).toEqual(['devices', 0]);
    } finally {
      await raw.cleanup();
    }
  });

  test('latency budgets on two runtimes are refused, naming both devices', async () => {
    const raw = await withDevices({ a: { runtime: 'wasm', budget: { latency_ms_p50: 3 } }, b: { runtime: 'cpu', budget: { latency_ms_p50: 3 } } });
    try {
      const err = await raw.run(autoStage, {}, inputs).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageConfigError);
      expect((err as StageConfigError).message).toMatch(/^devices `a` and `b` have latency budgets on different runtimes/);
    } finally {
      await raw.cleanup();
    }
  });
});
