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
import { resolveStoppingRule, sampleUntilStable } from '../measure/stopping-rule.js';
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

/** Measures `bytes` (a .tflite file) in `session`. Throws BrowserRuntimeError when the interpreter refuses the file. */
export async function measureTfliteLatency(session: TfliteSession, bytes: Uint8Array, options: TfliteLatencyOptions = {}): Promise<TfliteLatencyResult> {
  const threads = options.threads ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 1) throw new TypeError(`Expected threads to be a positive integer, got ${String(threads)}`);
  const rule = resolveStoppingRule(options);
  if (rule.batch !== 1) throw new TypeError(`Expected batch to be 1 for runtime tflite (the exported file has batch 1), got ${rule.batch}`);

  const t0 = performance.now();
  const model = await session.load(bytes, threads);
  const loadMs = performance.now() - t0;
  try {
    const input = model.inputs[0]!;
    const size = input.shape.reduce((a, b) => a * b, 1);
    const random = mulberry32(rule.seed);
    const values = Float32Array.from({ length: size }, () => random());
    const q = options.inputQuant;
    const example = input.dataType === 'int8' && q ? Int8Array.from(values, (v) => Math.max(-128, Math.min(127, Math.round(v / q.scale) + q.zeroPoint))) : values;

    // The interpreter times its own runs: no per-chunk time budget, only the overall deadline.
    const { warmupRuns, samples, stopReason, measureSeconds } = await sampleUntilStable(
      rule,
      async (count, _budgetMs, phase) => {
        if (phase === 'timed') return model.time(example, 0, count);
        await model.time(example, count, 0);
        return new Array<number>(count).fill(0);
      },
      options.signal,
    );
    const s = summarize(samples);
    const result: TfliteLatencyResult = {
      runtime: 'tflite',
      backendActual: 'tflite-wasm',
      threadsRequested: threads,
      threadsActual: null,
      batch: 1,
      warmup: warmupRuns,
      runs: s.count,
      ...latencyStats(s, stability(sortedCopy(samples), rule.targetRelativeSpread), stopReason),
      inputShapes: [input.shape],
      loadMs,
      measureSeconds,
      notes: [],
      browserVersion: session.version(),
      // The runtime's version where tfjs measurements name tfjs: the tfjs-tflite interpreter build.
      tfjsVersion: `tfjs-tflite ${session.interpreterVersion()}`,
    };
    if (rule.maxSamples > 0) result.samplesMs = strideSamples(samples, rule.maxSamples);
    return result;
  } finally {
    await model.release();
  }
}
