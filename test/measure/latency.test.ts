/**
 * Spawns real child processes from dist/ (build first: `npx tsc -p tsconfig.build.json`,
 * which `npm test` does). Only structural assertions on the timings: the
 * machine running the tests is shared, so no value is compared to a threshold.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isInstalled } from '../../src/engine/backend.js';
import { buildModel } from '../../src/engine/builders.js';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf } from '../../src/engine/tf.js';
import { LatencyError, measureLatency, type LatencyResult } from '../../src/measure/latency.js';
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

function expectSaneTimings(r: LatencyResult, minRuns: number, maxRuns: number): void {
  expect(r.runs).toBeGreaterThanOrEqual(minRuns);
  expect(r.runs).toBeLessThanOrEqual(maxRuns);
  expect(['stable', 'maxRuns']).toContain(r.stopReason);
  for (const v of [r.p50Ms, r.p95Ms, r.meanMs, r.minMs, r.maxMs]) expect(v).toBeGreaterThan(0);
  expect(r.minMs).toBeLessThanOrEqual(r.p50Ms);
  expect(r.p50Ms).toBeLessThanOrEqual(r.p95Ms);
  expect(r.p95Ms).toBeLessThanOrEqual(r.maxMs);
  expect(r.minMs).toBeLessThanOrEqual(r.meanMs);
  expect(r.meanMs).toBeLessThanOrEqual(r.maxMs);
  expect(r.stdevMs).toBeGreaterThanOrEqual(0);
  expect(r.spread).toBeCloseTo(r.p95Ms / r.p50Ms, 12);
  // Measured in another process.
  expect(r.pid).not.toBe(process.pid);
  expect(r.pid).toBeGreaterThan(0);
}

test('wasm: a tiny MLP, measured in a child process', async () => {
  const r = await measureLatency(mlpDir, { runtime: 'wasm', threads: 2, batch: 2, warmup: 5, minRuns: 30, maxRuns: 300, maxSeconds: 20, maxSamples: 8 });
  expectSaneTimings(r, 30, 300);
  expect(r).toMatchObject({ runtime: 'wasm', backendActual: 'wasm', threadsRequested: 2, batch: 2, warmup: 5, inputShapes: [[2, 16]] });
  // tfjs-backend-wasm is single-threaded under Node; the result says so instead of echoing the request.
  expect(r.threadsActual).toBe(1);
  expect(r.notes.join('\n')).toContain('requested 2 wasm threads, got 1');
  expect(r.samplesMs!.length).toBeLessThanOrEqual(8);
  expect(r.samplesMs!.every((s) => s >= r.minMs && s <= r.maxMs)).toBe(true);
  expect(r.tfjsVersion).toMatch(/^4\./);
});

test('cpu: same contract, no raw samples unless asked', async () => {
  const r = await measureLatency(mlpDir, { runtime: 'cpu', warmup: 2, minRuns: 20, maxRuns: 100 });
  expectSaneTimings(r, 20, 100);
  expect(r).toMatchObject({ runtime: 'cpu', backendActual: 'cpu', threadsActual: 1, batch: 1, notes: [], inputShapes: [[1, 16]] });
  expect(r).not.toHaveProperty('samplesMs');
});

describe('errors are one-line LatencyErrors', () => {
  test('missing model directory, or a directory without model.json (no child started)', async () => {
    const dir = await tempDir();
    const missing = path.join(dir, 'nope');
    await expect(measureLatency(missing, { runtime: 'wasm' })).rejects.toMatchObject({
      name: 'LatencyError',
      code: 'model',
      message: `${missing}: no such model directory`,
    });
    await expect(measureLatency(dir, { runtime: 'wasm' })).rejects.toMatchObject({
      code: 'model',
      message: `${dir}: no model.json (not a tfjs model directory)`,
    });
  });

  (isInstalled('@tensorflow/tfjs-node') ? test.skip : test)('tfjs-node requested but not installed', async () => {
    const error = await measureLatency(mlpDir, { runtime: 'tfjs-node' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LatencyError);
    expect(error).toMatchObject({ code: 'runtime' });
    expect((error as Error).message).toMatch(/^runtime tfjs-node is not installed \(npm install @tensorflow\/tfjs-node;/);
  });

  test('a model the child cannot load: the child reports the loader error', async () => {
    const dir = path.join(await tempDir(), 'broken');
    await mkdir(dir);
    await writeFile(path.join(dir, 'model.json'), '{"modelTopology": ');
    const error = (await measureLatency(dir, { runtime: 'cpu' }).catch((e: unknown) => e)) as LatencyError;
    expect(error).toBeInstanceOf(LatencyError);
    expect(error.code).toBe('model');
    expect(error.message).toMatch(new RegExp(`^latency on cpu: ${escape(path.join(dir, 'model.json'))}: not valid JSON`));
    expect(error.pid).not.toBe(process.pid);
  });

  test('a child that crashes: exit code and the tail of its stderr', async () => {
    const error = (await measureLatency(mlpDir, { runtime: 'wasm', execArgv: ['--no-such-node-flag'] }).catch((e: unknown) => e)) as LatencyError;
    expect(error).toBeInstanceOf(LatencyError);
    expect(error.code).toBe('crashed');
    expect(error.message).toMatch(/^latency child \(pid \d+\) exited with code 9 before reporting: .*--no-such-node-flag/);
  });

  test('a child that does not report in time is killed', async () => {
    // 10 ms + 50 ms: far less than Node needs just to import tfjs.
    const error = (await measureLatency(mlpDir, { runtime: 'wasm', maxSeconds: 0.01, graceSeconds: 0.05 }).catch((e: unknown) => e)) as LatencyError;
    expect(error).toBeInstanceOf(LatencyError);
    expect(error.code).toBe('timeout');
    expect(error.message).toBe(
      `latency child (pid ${error.pid}) did not report within 0.06 s (maxSeconds 0.01 + graceSeconds 0.05) and was killed`,
    );
    expect(await gone(error.pid!)).toBe(true);
  });

  test('aborting kills the child and rejects with the abort reason', async () => {
    const controller = new AbortController();
    const pending = measureLatency(mlpDir, { runtime: 'wasm', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const already = AbortSignal.abort();
    await expect(measureLatency(mlpDir, { runtime: 'wasm', signal: already })).rejects.toMatchObject({ name: 'AbortError' });
  });

  test.each([
    [{ runtime: 'gpu' }, 'Expected runtime to be one of wasm, cpu, tfjs-node, got "gpu"'],
    [{ runtime: 'wasm', threads: 0 }, 'Expected threads to be a positive integer, got 0'],
    [{ runtime: 'wasm', batch: 1.5 }, 'Expected batch to be a positive integer, got 1.5'],
    [{ runtime: 'wasm', minRuns: 50, maxRuns: 10 }, 'Expected maxRuns to be >= minRuns (50), got 10'],
    [{ runtime: 'wasm', targetRelativeSpread: 0 }, 'Expected targetRelativeSpread to be a number > 0, got 0'],
    [{ runtime: 'wasm', maxSeconds: -1 }, 'Expected maxSeconds to be a finite number > 0, got -1'],
    [{ runtime: 'wasm', warmup: -1 }, 'Expected warmup to be an integer >= 0, got -1'],
  ])('rejects options %j', async (options, message) => {
    await expect(measureLatency(mlpDir, options as never)).rejects.toThrow(new TypeError(message));
  });
});

/** Whether process `pid` has exited (and been reaped) within a few seconds. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
