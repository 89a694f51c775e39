/**
 * The latency measurement, run as its own Node process by `measureLatency`
 * (latency.ts) from the compiled dist/measure/latency-child.js.
 *
 * Why a process and not a worker thread: a worker shares the parent's heap
 * limit, its GC and libuv thread pool, and the pipeline's other workers would
 * be training next to it; a process shares none of that, and starts from a
 * clean tfjs (one backend, no leftover kernels, tensors or flags).
 *
 * Flow: receive the task over IPC -> load tfjs on the runtime (wasm thread
 * count applied before the backend initialises) -> load the model ->
 * build a seeded random input of the model's input shape x batch -> warm up
 * -> timed runs until the p50/p95 estimates are stable, maxRuns, or
 * maxSeconds -> send the report and exit.
 *
 * One timed run is `model.predict(x)` plus `dataSync()` of every output:
 * without reading the result back, an asynchronous backend would only be
 * timed while queueing work. Disposal happens after the clock stops. The
 * wasm training kernels (src/engine/kernels/) are not registered: they are
 * gradient kernels, which inference never calls.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { mulberry32 } from '../data/dataset.js';
import { loadModelDir } from '../engine/model-io.js';
import { loadTf, type Tf } from '../engine/tf.js';
import { messageOf, serveOneTask } from './child-task.js';
import type { ChildFailure, ChildMessage, LatencyChildReport, LatencyTask, StopReason } from './latency-protocol.js';
import { latencyStats } from './latency-stats.js';
import { sortedCopy, stability, strideSamples, summarize } from './sample-stats.js';
import { CHECK_EVERY, WARMUP_TIME_SHARE } from './stopping-rule.js';


/** A failure with the phase it belongs to, for the parent's error code. */
class PhaseError extends Error {
  constructor(
    readonly failure: ChildFailure,
    message: string,
  ) {
    super(message);
  }
}

async function measure(task: LatencyTask): Promise<LatencyChildReport> {
  const notes: string[] = [];
  let threadsActual: number | null = null;
  let tf: Tf;
  try {
    tf = await loadTf(task.runtime, {
      beforeReady: async () => {
        if (task.runtime !== 'wasm') return;
        // Must happen before tf.setBackend('wasm') creates the XNNPACK thread pool.
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setThreadsCount(task.threads);
      },
    });
  } catch (error) {
    throw new PhaseError('runtime', messageOf(error));
  }
  if (task.runtime === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    threadsActual = wasm.getThreadsCount();
    if (threadsActual < task.threads) {
      notes.push(
        `requested ${task.threads} wasm threads, got ${threadsActual}: tfjs-backend-wasm loads its single-threaded ` +
          'binary in Node (WASM_HAS_MULTITHREAD_SUPPORT is false under Node, tensorflow/tfjs#3830)',
      );
    }
  } else if (task.runtime === 'cpu') {
    threadsActual = 1;
    if (task.threads > 1) notes.push(`requested ${task.threads} threads; the cpu backend is plain JavaScript on one thread`);
  } else {
    notes.push('tfjs-node sizes its own libtensorflow thread pool; the threads option is not applied and not known');
  }

  const loadStart = performance.now();
  let model: LayersModel;
  try {
    model = await loadModelDir(task.modelDir, { tf });
  } catch (error) {
    throw new PhaseError('model', messageOf(error));
  }
  const loadMs = performance.now() - loadStart;

  const inputs = makeInputs(tf, model, task);
  const x = inputs.length === 1 ? inputs[0]! : inputs;
  const runOnce = (): number => {
    const t0 = performance.now();
    const out = model.predict(x);
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) o.dataSync();
    const t1 = performance.now();
    for (const o of outs) o.dispose();
    return t1 - t0;
  };

  const start = performance.now();
  const deadline = start + task.maxSeconds * 1000;
  let warmupRuns = 0;
  while (warmupRuns < task.warmup && performance.now() - start < task.maxSeconds * 1000 * WARMUP_TIME_SHARE) {
    runOnce();
    warmupRuns++;
  }

  const samples: number[] = [];
  let stopReason: StopReason;
  const timedStart = performance.now();
  const earliestStable = timedStart + task.minSeconds * 1000;
  for (;;) {
    samples.push(runOnce());
    const n = samples.length;
    // Sorting every CHECK_EVERY runs costs O(n log n); with minSeconds on a
    // sub-ms model n reaches tens of thousands, so check every ~1% of n then.
    const every = Math.max(CHECK_EVERY, Math.floor(n / 100));
    if (
      n >= task.minRuns &&
      performance.now() >= earliestStable &&
      (n === task.minRuns || n % every === 0) &&
      stability(sortedCopy(samples), task.targetRelativeSpread).stable
    ) {
      stopReason = 'stable';
      break;
    }
    if (n >= task.maxRuns) {
      stopReason = 'maxRuns';
      break;
    }
    if (performance.now() >= deadline) {
      stopReason = 'maxSeconds';
      break;
    }
  }
  const measureSeconds = (performance.now() - start) / 1000;
  for (const t of inputs) t.dispose();
  model.dispose();

  const s = summarize(samples);
  const st = stability(sortedCopy(samples), task.targetRelativeSpread);
  const report: LatencyChildReport = {
    pid: process.pid,
    nodeVersion: process.version,
    tfjsVersion: tfjsVersion(tf),
    backendActual: tf.getBackend(),
    threadsActual,
    notes,
    inputShapes: inputs.map((t) => [...t.shape]),
    loadMs,
    warmupRuns,
    runs: s.count,
    measureSeconds,
    ...latencyStats(s, st, stopReason),
  };
  if (task.maxSamples > 0) report.samplesMs = strideSamples(samples, task.maxSamples);
  return report;
}

/**
 * One tensor per model input: its shape with the batch dimension set to
 * `task.batch`. float32 inputs get seeded uniform [0, 1) values (the range of
 * normalised images; the values barely matter to dense kernels, but NaN or
 * denormals would, so random rather than uninitialised); int32 inputs get
 * zeros, a valid index for any embedding.
 */
function makeInputs(tf: Tf, model: LayersModel, task: LatencyTask): Tensor[] {
  return model.inputs.map((input, i) => {
    const shape = input.shape.map((d, axis) => (axis === 0 ? task.batch : d));
    if (shape.some((d) => d === null || d === undefined || d < 0)) {
      throw new PhaseError(
        'model',
        `input ${JSON.stringify(input.name)} has shape ${JSON.stringify(input.shape)} with an unknown dimension besides the batch; ` +
          'cannot build an input to time',
      );
    }
    const dims = shape as number[];
    const size = dims.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int32') return tf.zeros(dims, 'int32');
    const random = mulberry32(task.seed + i);
    const values = new Float32Array(size);
    for (let k = 0; k < size; k++) values[k] = random();
    return tf.tensor(values, dims, 'float32');
  });
}

function tfjsVersion(tf: Tf): string {
  return (tf.version as Record<string, string>)['tfjs'] ?? tf.version_core;
}

serveOneTask<LatencyTask, LatencyChildReport, Extract<ChildMessage, { type: 'error' }>>(
  { child: 'latency-child', parent: 'measureLatency() (src/measure/latency.ts)' },
  measure,
  (error) => ({ type: 'error', failure: error instanceof PhaseError ? error.failure : 'measure', message: messageOf(error) }),
);
