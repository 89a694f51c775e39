/**
 * Inference latency of a .tflite file in the real TFLite interpreter
 * (tflite-session.ts), in the same shape as the Node and tfjs-browser
 * measurements: warm-up, then timed runs in chunks until the p50 and p95
 * confidence intervals are tight (sample-stats.ts's stopping rule) or
 * maxRuns / maxSeconds is reached. One timed run is: copy the input into the
 * interpreter's input buffer, infer(), read the output buffer. The input is
 * seeded uniform [0, 1) (mulberry32(seed)), quantized for an int8 input.
 */
import { mulberry32 } from '../data/dataset.js';
import { sortedCopy, stability, strideSamples, summarize } from '../measure/sample-stats.js';
import type { StopReason } from '../measure/latency-protocol.js';
import { latencyStats } from '../measure/latency-stats.js';
import type { LatencyMeasurement, LatencyRunOptions } from '../measure/latency-stats.js';
import type { TfliteSession } from './tflite-session.js';

export interface TfliteLatencyOptions extends LatencyRunOptions {
  /** Interpreter threads (numThreads of the TFLite runner). Default: 1. */
  threads?: number;
  /** For an int8 input: the scale and zero point to quantize the seeded input with. */
  inputQuant?: { scale: number; zeroPoint: number };
}

export interface TfliteLatencyResult extends LatencyMeasurement {
  runtime: 'tflite';
  /** Chromium's version. */
  browserVersion: string;
}

const CHECK_EVERY = 10;

/** Measures `bytes` (a .tflite file) in `session`. Throws BrowserRuntimeError when the interpreter refuses the file. */
export async function measureTfliteLatency(session: TfliteSession, bytes: Uint8Array, options: TfliteLatencyOptions = {}): Promise<TfliteLatencyResult> {
  const threads = options.threads ?? 1;
  const warmup = options.warmup ?? 10;
  const minRuns = options.minRuns ?? 30;
  const maxRuns = options.maxRuns ?? 1000;
  const target = options.targetRelativeSpread ?? 0.05;
  const maxSeconds = options.maxSeconds ?? 10;
  for (const [k, v] of Object.entries({ threads, minRuns, maxRuns })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`Expected ${k} to be a positive integer, got ${String(v)}`);
  }
  if (maxRuns < minRuns) throw new TypeError(`Expected maxRuns to be >= minRuns (${minRuns}), got ${maxRuns}`);
  if ((options.batch ?? 1) !== 1) throw new TypeError(`Expected batch to be 1 for runtime tflite (the exported file has batch 1), got ${options.batch}`);

  const t0 = performance.now();
  const model = await session.load(bytes, threads);
  const loadMs = performance.now() - t0;
  try {
    const input = model.inputs[0]!;
    const size = input.shape.reduce((a, b) => a * b, 1);
    const random = mulberry32(options.seed ?? 0);
    const values = Float32Array.from({ length: size }, () => random());
    const q = options.inputQuant;
    const example = input.dataType === 'int8' && q ? Int8Array.from(values, (v) => Math.max(-128, Math.min(127, Math.round(v / q.scale) + q.zeroPoint))) : values;

    const start = performance.now();
    const deadline = start + maxSeconds * 1000;
    let warmupRuns = 0;
    if (warmup > 0) {
      await model.time(example, warmup, 0);
      warmupRuns = warmup;
    }
    const samples: number[] = [];
    let stopReason: StopReason;
    for (;;) {
      options.signal?.throwIfAborted();
      const want = samples.length < minRuns ? minRuns - samples.length : Math.min(CHECK_EVERY, maxRuns - samples.length);
      samples.push(...(await model.time(example, 0, want)));
      const n = samples.length;
      if (n >= minRuns && stability(sortedCopy(samples), target).stable) {
        stopReason = 'stable';
        break;
      }
      if (n >= maxRuns) {
        stopReason = 'maxRuns';
        break;
      }
      if (performance.now() >= deadline) {
        stopReason = 'maxSeconds';
        break;
      }
    }
    const s = summarize(samples);
    const result: TfliteLatencyResult = {
      runtime: 'tflite',
      backendActual: 'tflite-wasm',
      threadsRequested: threads,
      threadsActual: null,
      batch: 1,
      warmup: warmupRuns,
      runs: s.count,
      ...latencyStats(s, stability(sortedCopy(samples), target), stopReason),
      inputShapes: [input.shape],
      loadMs,
      measureSeconds: (performance.now() - start) / 1000,
      notes: [],
      browserVersion: session.version(),
      // The runtime's version where tfjs measurements name tfjs: the tfjs-tflite interpreter build.
      tfjsVersion: `tfjs-tflite ${session.interpreterVersion()}`,
    };
    if ((options.maxSamples ?? 0) > 0) result.samplesMs = strideSamples(samples, options.maxSamples!);
    return result;
  } finally {
    await model.release();
  }
}
