/**
 * measureInterleaved times several models in one child process, round by
 * round, so load that comes and goes hits them alike (the auto stage's
 * latency tables rest on it). The models differ ~1000x in work, so their
 * order in the report is checkable on a shared machine; no absolute timing
 * thresholds.
 */
import path from 'node:path';
import { buildModel } from '../../src/engine/builders.js';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf } from '../../src/engine/tf.js';
import { measureInterleaved } from '../../src/measure/interleaved-latency.js';
import { LatencyError } from '../../src/measure/latency.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
let smallDir: string;
let largeDir: string;

beforeAll(async () => {
  const tf = await loadTf('cpu');
  const root = await tempDir();
  smallDir = path.join(root, 'small');
  largeDir = path.join(root, 'large');
  const small = buildModel(tf, { arch: 'mlp', inputShape: [16], units: [8], classes: 3 }, 1);
  const large = buildModel(tf, { arch: 'mlp', inputShape: [784], units: [1024, 1024], classes: 10 }, 1);
  await saveModelDir(small, smallDir);
  await saveModelDir(large, largeDir);
  small.dispose();
  large.dispose();
});

test('reports the models in the order given, each with its own runs', async () => {
  const r = await measureInterleaved([largeDir, smallDir], { runtime: 'wasm', warmup: 2, minRuns: 10, maxRuns: 200, secondsPerModel: 0.2 });
  expect(r.backendActual).toBe('wasm');
  expect(r.models).toHaveLength(2);
  const [large, small] = r.models;
  for (const m of r.models) {
    expect(m.runs).toBeGreaterThanOrEqual(10);
    expect(m.runs).toBeLessThanOrEqual(200);
    expect(m.minMs).toBeLessThanOrEqual(m.p50Ms);
    expect(m.p50Ms).toBeLessThanOrEqual(m.p95Ms);
  }
  // ~1.8M multiply-adds against ~160: the large model is slower whatever the load.
  expect(large!.p50Ms).toBeGreaterThan(small!.p50Ms);
});

test('maxRuns caps every model exactly, also when it is not a multiple of a turn', async () => {
  // A long deadline: the rounds end when every model has maxRuns (turns are 3 runs; 20 is not a multiple).
  const r = await measureInterleaved([smallDir, largeDir], { runtime: 'wasm', warmup: 1, minRuns: 5, maxRuns: 20, secondsPerModel: 30 });
  expect(r.models.map((m) => m.runs)).toEqual([20, 20]);
  expect(r.seconds).toBeLessThan(30);
});

test('bad options are refused before a process starts', async () => {
  await expect(measureInterleaved([smallDir], { runtime: 'wasm', warmup: -1 })).rejects.toThrow('Expected warmup to be an integer >= 0, got -1');
  await expect(measureInterleaved([smallDir], { runtime: 'wasm', minRuns: 50, maxRuns: 10 })).rejects.toThrow('Expected maxRuns to be >= minRuns (50), got 10');
  await expect(measureInterleaved([smallDir], { runtime: 'wasm', secondsPerModel: 0 })).rejects.toThrow('Expected secondsPerModel to be a finite number > 0, got 0');
  await expect(measureInterleaved([smallDir], { runtime: 'wasm', seed: 1.5 })).rejects.toThrow('Expected seed to be an integer, got 1.5');
  await expect(measureInterleaved([], { runtime: 'wasm' })).rejects.toThrow('Expected modelDirs to be a non-empty list of paths');
});

test('a directory without model.json is a LatencyError naming it', async () => {
  const empty = await tempDir();
  const error = await measureInterleaved([smallDir, empty], { runtime: 'wasm' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LatencyError);
  expect((error as Error).message).toContain(`${empty}: no model.json`);
});
