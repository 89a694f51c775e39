/**
 * Issue 14: latency verdicts flipped from run to run on sub-millisecond
 * models because the timed loop stopped as "stable" (or at maxRuns) after a
 * few milliseconds of runs, a window in which one preemption or GC pause
 * decides the p95. `minSeconds` keeps a real child process timing for at
 * least that long; the result carries the p50/p95 confidence intervals.
 * Structural assertions only (the machine is shared): no timing thresholds
 * on the latency values themselves.
 */
import path from 'node:path';
import { buildModel } from '../../src/engine/builders.js';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf } from '../../src/engine/tf.js';
import { measureLatency } from '../../src/measure/latency.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
let mlpDir: string;

beforeAll(async () => {
  const tf = await loadTf('cpu');
  mlpDir = path.join(await tempDir(), 'mlp');
  const model = buildModel(tf, { arch: 'mlp', inputShape: [16], units: [8], classes: 3 }, 1);
  await saveModelDir(model, mlpDir);
  model.dispose();
});

test('minSeconds: a sub-ms model is timed for at least that long, with confidence intervals', async () => {
  // A loose target (±50%) is met within a few ms of runs: without minSeconds the loop stopped there.
  const r = await measureLatency(mlpDir, { runtime: 'wasm', warmup: 5, minRuns: 30, maxRuns: 1_000_000, maxSeconds: 10, minSeconds: 0.6, targetRelativeSpread: 0.5 });
  // measureSeconds includes warm-up; the timed part alone must have lasted minSeconds.
  expect(r.measureSeconds).toBeGreaterThanOrEqual(0.6);
  expect(['stable', 'maxSeconds']).toContain(r.stopReason);
  expect(r.runs).toBeGreaterThan(30);
  const [lo50, hi50] = r.p50IntervalMs!;
  const [lo95, hi95] = r.p95IntervalMs!;
  expect(lo50).toBeLessThanOrEqual(r.p50Ms);
  expect(r.p50Ms).toBeLessThanOrEqual(hi50);
  expect(lo95).toBeLessThanOrEqual(r.p95Ms);
  expect(r.p95Ms).toBeLessThanOrEqual(hi95);
}, 60_000);

test.each([
  [-1, 'Expected minSeconds to be a finite number >= 0, got -1'],
  [Number.POSITIVE_INFINITY, 'Expected minSeconds to be a finite number >= 0, got Infinity'],
])('minSeconds %p is rejected', async (minSeconds, message) => {
  await expect(measureLatency(mlpDir, { runtime: 'wasm', minSeconds })).rejects.toThrow(message);
});
