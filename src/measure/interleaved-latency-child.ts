/**
 * Several models timed in ONE Node process, round-robin: run by
 * `measureInterleaved` (interleaved-latency.ts) from the compiled
 * dist/measure/interleaved-latency-child.js.
 *
 * Why interleaved: a per-layer latency table (NetAdapt) is a set of
 * differences between nearly equal models. Timed one after another in
 * separate processes, each number carries its own moment's machine load
 * (a shared 2-core box drifts by 2x within seconds), and the differences
 * drown. Timed in rounds (a few runs of each model in turn, the order
 * rotated every round), every model sees the same load, so the differences
 * survive; and the table pays for one process start instead of one per
 * entry.
 *
 * One timed run is what latency-child.ts times: `model.predict(x)` plus
 * `dataSync()` of every output, disposal after the clock stops.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { mulberry32 } from '../data/dataset.js';
import { loadModelDir } from '../engine/model-io.js';
import { loadTf, type Tf } from '../engine/tf.js';
import { messageOf, serveOneTask } from './child-task.js';
import type { InterleavedChildMessage, InterleavedReport, InterleavedTask } from './interleaved-latency-protocol.js';
import { summarize } from './sample-stats.js';

/** Runs of one model per turn: long enough to keep its kernels warm, short enough to interleave finely. */
const RUNS_PER_TURN = 3;

async function measure(task: InterleavedTask): Promise<InterleavedReport> {
  const tf: Tf = await loadTf(task.runtime, {
    beforeReady: async () => {
      if (task.runtime !== 'wasm') return;
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setThreadsCount(task.threads);
    },
  });
  const models: { model: LayersModel; x: Tensor | Tensor[]; inputs: Tensor[] }[] = [];
  for (const dir of task.modelDirs) {
    const model = await loadModelDir(dir, { tf });
    const inputs = model.inputs.map((input, i) => {
      const dims = input.shape.map((d, axis) => (axis === 0 ? task.batch : d));
      if (dims.some((d) => d === null || d === undefined || d < 0)) throw new Error(`${dir}: input ${input.name} has an unknown dimension besides the batch`);
      const shape = dims as number[];
      if (input.dtype === 'int32') return tf.zeros(shape, 'int32');
      const random = mulberry32(task.seed + i);
      return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random()), shape, 'float32');
    });
    models.push({ model, inputs, x: inputs.length === 1 ? inputs[0]! : inputs });
  }
  const runOnce = (k: number): number => {
    const { model, x } = models[k]!;
    const t0 = performance.now();
    const out = model.predict(x);
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) o.dataSync();
    const t1 = performance.now();
    for (const o of outs) o.dispose();
    return t1 - t0;
  };
  for (let k = 0; k < models.length; k++) for (let i = 0; i < task.warmup; i++) runOnce(k);

  const samples: number[][] = models.map(() => []);
  const start = performance.now();
  const deadline = start + task.secondsPerModel * models.length * 1000;
  for (let round = 0; ; round++) {
    for (let j = 0; j < models.length; j++) {
      const k = (j + round) % models.length;
      // A turn never takes a model past maxRuns (turns are RUNS_PER_TURN long, maxRuns need not be a multiple).
      const turn = Math.min(RUNS_PER_TURN, task.maxRuns - samples[k]!.length);
      for (let i = 0; i < turn; i++) samples[k]!.push(runOnce(k));
    }
    const done = samples.every((s) => s.length >= task.maxRuns);
    if (done || (performance.now() >= deadline && samples.every((s) => s.length >= task.minRuns))) break;
  }
  for (const m of models) {
    for (const t of m.inputs) t.dispose();
    m.model.dispose();
  }
  return {
    backendActual: tf.getBackend(),
    seconds: (performance.now() - start) / 1000,
    models: samples.map((s) => {
      const sum = summarize(s);
      return { runs: sum.count, p50Ms: sum.p50, p95Ms: sum.p95, minMs: sum.min };
    }),
  };
}

serveOneTask<InterleavedTask, InterleavedReport, Extract<InterleavedChildMessage, { type: 'error' }>>(
  { child: 'interleaved-latency-child', parent: 'measureInterleaved() (src/measure/interleaved-latency.ts)' },
  measure,
  (error) => ({ type: 'error', message: messageOf(error) }),
);
