/**
 * Inference latency of a tfjs model in a Chromium page, in the same shape as
 * the Node measurement (src/measure/latency.ts): warm-up, then timed runs
 * until the p50 and p95 confidence intervals are tight (sample-stats.ts's
 * stopping rule) or maxRuns / maxSeconds is reached; nearest-rank p50/p95,
 * run count, p95/p50 spread, stop reason.
 *
 * The page times runs in chunks (page-script.ts `time`): the clock runs in
 * the page around predict + dataSync only, and the Node side applies the
 * stopping rule between chunks, so the page never needs the statistics code
 * and the round trips through page.evaluate are never timed. Inputs are
 * seeded uniform [0, 1) like the Node child's (mulberry32(seed + input)).
 */
import { mulberry32 } from '../data/dataset.js';
import { sortedCopy, stability, strideSamples, summarize } from '../measure/sample-stats.js';
import { resolveStoppingRule, sampleUntilStable } from '../measure/stopping-rule.js';
import { latencyStats, type LatencyMeasurement, type LatencyRunOptions } from '../measure/latency-stats.js';
import { BrowserRuntimeError } from './browser-error.js';
import type { MeasurementPage } from './measurement-page.js';
import type { BrowserBackend, PageLoaded, PageTensor } from './page-protocol.js';

/** Browser measurements take the shared run options (batch, warm-up, runs, time, seed, samples, signal). */
export type BrowserLatencyOptions = LatencyRunOptions;

/** A browser latency measurement: LatencyResult's fields, with the browser's facts in place of the Node process's. */
export interface BrowserLatencyResult extends LatencyMeasurement {
  runtime: 'browser';
  backend: BrowserBackend;
  /** Chromium's version, e.g. 156.0.8078.108. */
  browserVersion: string;
  /** COOP/COEP took effect (SharedArrayBuffer for wasm threads, 5 µs timer resolution). */
  crossOriginIsolated: boolean;
  /** webgl: the renderer (SwiftShader = software); else null. */
  renderer: string | null;
}


/**
 * The most wasm threads tfjs-backend-wasm 4.22 will start in a browser that
 * reports `hardwareConcurrency` logical cores: its init_with_threads_count
 * (compiled into the .wasm binaries) clamps the requested count to
 * [1, 4] and then to hardwareConcurrency / 2 (integer division: it assumes
 * two hyper-threads per core), so a 2-core machine always gets 1 thread.
 * Null when the browser reports no core count.
 */
export function wasmThreadsCap(hardwareConcurrency: number | null): number | null {
  if (hardwareConcurrency === null || !Number.isFinite(hardwareConcurrency)) return null;
  return Math.max(1, Math.min(4, Math.floor(hardwareConcurrency / 2)));
}

/** The notes a page's setup deserves next to its numbers. */
export function setupNotes(page: MeasurementPage): string[] {
  const { info, setup } = page;
  const notes: string[] = [];
  if (setup.backend === 'wasm' && info.threadsActual !== null && info.threadsActual < setup.threads) {
    const cap = wasmThreadsCap(info.hardwareConcurrency);
    const why =
      cap !== null && info.threadsActual === cap
        ? `: it caps threads at min(4, navigator.hardwareConcurrency / 2) and this browser reports ${info.hardwareConcurrency} logical cores`
        : ` (page cross-origin isolated: ${info.crossOriginIsolated})`;
    notes.push(`requested ${setup.threads} wasm threads, tfjs-backend-wasm reports ${info.threadsActual}${why}`);
  }
  if (setup.backend !== 'wasm' && setup.threads > 1) notes.push(`threads: ${setup.threads} is not applied to the ${setup.backend} backend`);
  if (info.renderer !== null && /swiftshader|llvmpipe|software/i.test(info.renderer)) {
    notes.push(`webgl is software-rendered (${info.renderer}): not representative of a GPU`);
  }
  return notes;
}

/**
 * Loads the model at `modelUrl` into `page` as `modelId` (kept loaded: the
 * caller disposes it) and measures it.
 */
export async function measureBrowserLatency(
  page: MeasurementPage,
  modelId: string,
  modelUrl: string,
  browserVersion: string,
  options: BrowserLatencyOptions = {},
): Promise<BrowserLatencyResult> {
  const rule = resolveStoppingRule(options);

  const loaded = await page.call('load', modelId, { kind: 'tfjs', url: modelUrl }).catch((error: unknown) => {
    throw new BrowserRuntimeError('model', error instanceof Error ? error.message : String(error), { cause: error });
  });
  const inputs = seededInputs(loaded, rule.batch, rule.seed);
  await page.call('setInputs', modelId, inputs);

  const { warmupRuns, samples, stopReason, measureSeconds } = await sampleUntilStable(
    rule,
    (count, budgetMs) => page.call('time', modelId, count, budgetMs),
    options.signal,
  );
  const s = summarize(samples);
  const st = stability(sortedCopy(samples), rule.targetRelativeSpread);
  const result: BrowserLatencyResult = {
    runtime: 'browser',
    backend: page.setup.backend,
    backendActual: page.info.backendActual,
    threadsRequested: page.setup.threads,
    threadsActual: page.info.threadsActual,
    batch: rule.batch,
    warmup: warmupRuns,
    runs: s.count,
    ...latencyStats(s, st, stopReason),
    inputShapes: inputs.map((t) => t.shape),
    loadMs: loaded.loadMs,
    measureSeconds,
    notes: setupNotes(page),
    browserVersion,
    tfjsVersion: page.info.tfjsVersion,
    crossOriginIsolated: page.info.crossOriginIsolated,
    renderer: page.info.renderer,
  };
  if (rule.maxSamples > 0) result.samplesMs = strideSamples(samples, rule.maxSamples);
  return result;
}

/** One seeded input per model input, batch dimension set to `batch` (same values as the Node child's). */
export function seededInputs(loaded: PageLoaded, batch: number, seed: number): PageTensor[] {
  return loaded.inputs.map((input, i) => {
    const shape = input.shape.map((d, axis) => (axis === 0 ? batch : d));
    if (shape.some((d) => d === null || d < 0)) {
      throw new BrowserRuntimeError('model', `input ${JSON.stringify(input.name)} has shape ${JSON.stringify(input.shape)} with an unknown dimension besides the batch; cannot build an input to time`);
    }
    const dims = shape as number[];
    const size = dims.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int32') return { shape: dims, dtype: 'int32', values: new Array<number>(size).fill(0) };
    const random = mulberry32(seed + i);
    const values = new Array<number>(size);
    // Through Float32Array so the page gets exactly the float32 values the Node child feeds.
    const f = new Float32Array(1);
    for (let k = 0; k < size; k++) {
      f[0] = random();
      values[k] = f[0];
    }
    return { shape: dims, dtype: 'float32', values };
  });
}
