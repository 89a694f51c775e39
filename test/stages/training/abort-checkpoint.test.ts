/**
 * `checkpoint` lets an abort that arrives as a message (a macrotask) into a
 * loop whose awaits all resolve on the microtask queue, as tfjs wasm's do;
 * and the shared loops stop on an aborted signal with its reason.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dataset } from '../../../src/data/dataset.js';
import { loadTf } from '../../../src/engine/tf.js';
import { checkpoint, CHECKPOINT_EVERY_MS } from '../../../src/stages/training/abort-checkpoint.js';
import { evaluateAccuracy, runEpochs } from '../../../src/stages/training/train-loop.js';

/** Busy-waits `ms` (a step of synchronous work). */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** A loop of 1 ms synchronous steps, awaiting only resolved promises or `check`; returns how it ended. */
async function loop(check: () => Promise<void>, maxMs: number): Promise<{ ended: 'aborted' | 'ran out'; ms: number; reason?: unknown }> {
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < maxMs) {
      await check();
      spin(1);
      await Promise.resolve(); // what tfjs wasm's data() amounts to
    }
    return { ended: 'ran out', ms: performance.now() - t0 };
  } catch (reason) {
    return { ended: 'aborted', ms: performance.now() - t0, reason };
  }
}

describe('checkpoint', () => {
  test('sees an abort delivered on a later event-loop turn; a bare throwIfAborted does not', async () => {
    const reason = new Error('run interrupted');
    const a = new AbortController();
    setTimeout(() => a.abort(reason), 50);
    const withCheckpoint = await loop(() => checkpoint(a.signal), 2000);
    expect(withCheckpoint.ended).toBe('aborted');
    expect(withCheckpoint.reason).toBe(reason);
    // 50 ms until the abort, then at most CHECKPOINT_EVERY_MS plus one step (and a loaded machine).
    expect(withCheckpoint.ms).toBeLessThan(50 + CHECKPOINT_EVERY_MS + 400);

    // The defect it fixes: the timer never fires while the loop runs.
    const b = new AbortController();
    setTimeout(() => b.abort(reason), 50);
    const bare = await loop(async () => b.signal.throwIfAborted(), 300);
    expect(bare.ended).toBe('ran out');
    await sleep(0);
    expect(b.signal.aborted).toBe(true);
  });

  test('throws at once on a signal aborted before the loop; no signal never throws', async () => {
    const reason = new Error('stop');
    await expect(checkpoint(AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(checkpoint(undefined)).resolves.toBeUndefined();
  });
});

describe('the shared loops stop on an aborted signal with its reason', () => {
  const reason = new Error('run interrupted');
  const data: Dataset = {
    name: 'tiny',
    x: new Float32Array(64 * 4).map((_, i) => (i % 7) / 7),
    y: new Int32Array(64).map((_, i) => i % 2),
    count: 64,
    shape: [4],
    classes: 2,
    fingerprint: 'sha256:tiny',
  };

  test('runEpochs and evaluateAccuracy', async () => {
    const tf = await loadTf('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'softmax' })] });
    const settings = { epochs: 3, batchSize: 8, optimizer: 'sgd' as const, learningRate: 0.1, momentum: 0, schedule: { kind: 'constant' as const } };
    const steps: number[] = [];
    const a = new AbortController();
    const run = runEpochs(tf, model, settings, { data, seed: 1, shuffleSeed: 2, signal: a.signal }, { afterStep: (s) => (s === 2 ? a.abort(reason) : steps.push(s)) });
    await expect(run).rejects.toBe(reason);
    // Stopped before the batch after the one that aborted: 3 steps of 24.
    expect(steps).toEqual([0, 1]);
    await expect(evaluateAccuracy(tf, model, data, 8, AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(evaluateAccuracy(tf, model, data, 8)).resolves.toMatchObject({ accuracy: expect.any(Number) });
    model.dispose();
  });
});
