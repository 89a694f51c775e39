/**
 * Per-layer latency table on the device's runtime, NetAdapt-style (Yang et
 * al. 2018): the latency of the unmodified model, and of the model with one
 * layer narrowed (narrowed-models.ts), timed side by side in one Node child
 * process on the runtime (src/measure/interleaved-latency.ts: round-robin
 * turns, so the machine's load drifts the same for all; timed one after
 * another in separate processes on a shared 2-core box, the base came out
 * 0.40 ms in one run and 0.79 ms in the next, and a narrowed layer slower
 * than the base). A (layer, ratio) entry is its p50/p95 difference to the
 * unmodified model in the same session; the predicted latency of an
 * assignment is the base plus the sum of its entries' differences.
 *
 * What moves latency: only the structured family (fewer units/filters,
 * smaller dense matmuls and convolutions). Unstructured sparsity, weight
 * sharing and the storage dtype do NOT on dense runtimes (wasm, cpu,
 * tfjs-node): zeros are multiplied like any value, shared weights and
 * quantized storage are decoded to float32 at load. So `latencyCost` is 0
 * for them, by design, not by omission.
 *
 * The additive assumption ignores interactions (narrowing conv1 AND conv2
 * saves less in conv2 than the sum says, since conv2's cost goes with
 * in x out), so the auto stage measures every trial's model and reports
 * predicted vs measured p50/p95 (trials.json).
 *
 * Cost: one child start (about a second with wasm, more on a loaded
 * machine) plus `maxSeconds` per entry, base included: with the default
 * 0.5 s a LeNet-5 table with three ratios (3 hidden layers x 3 + the base =
 * 10 models) took 8.5-10 s on the shared 2-core machine at load 9. Entries are cached per (model digest, runtime,
 * threads, batch, maxSeconds, layer, ratio) under the memo dir, like the
 * sensitivity stage's measurements, so a rerun or a wider sweep times only
 * what is new (with the base again, which the new differences need).
 */
import type { LatencyRuntime } from '../../measure/latency.js';
import { measureInterleaved } from '../../measure/interleaved-latency.js';
import type { InterleavedModelStats } from '../../measure/interleaved-latency.js';
import { MeasurementMemo, measurementKey } from '../sensitivity/measurement-memo.js';
import type { LayerSetting } from '../sensitivity/layer-setting.js';
import type { NarrowedModel } from './narrowed-models.js';

/** The default timed seconds per entry (the child's start-up and warm-up come on top, once per table). */
export const LATENCY_ENTRY_SECONDS = 0.5;

export interface LatencyPoint {
  p50Ms: number;
  p95Ms: number;
}

/** A one-layer change: its p50/p95 minus the unmodified model's, timed in the same session (ms; negative is faster). */
export interface LatencyEntry {
  layer: string;
  ratio: number;
  dP50Ms: number;
  dP95Ms: number;
}

export interface LatencyTable {
  runtime: LatencyRuntime;
  threads: number;
  batch: number;
  /** Time per entry (warm-up + timed runs), seconds. */
  maxSeconds: number;
  /** The unmodified model. */
  base: LatencyPoint;
  /** The model with one layer narrowed. */
  entries: LatencyEntry[];
  /**
   * The model with every layer narrowed at its largest ratio, when it could
   * be built: the fastest reachable. Predictions never go below it (the
   * runtime's fixed cost per inference, op dispatch and reading the result,
   * stays; the sum of single-layer savings does not know that).
   */
  floor?: LatencyPoint;
  /** Entries timed now (the others came from the memo; the base is timed whenever one is), and the wall time it took. */
  measured: number;
  seconds: number;
}

export interface LatencyTableOptions {
  runtime: LatencyRuntime;
  threads: number;
  batch: number;
  maxSeconds: number;
  /** The unmodified model's digest (the memo key: the same weights and topology time the same). */
  modelDigest: string;
  memoDir: string;
  signal?: AbortSignal;
  /** Called after each entry (progress). */
  onEntry?: (done: number, total: number, what: string) => void;
}

/**
 * Times a saved model side by side with the unmodified one (one child,
 * interleaved): its latency, and the unmodified model's in the same
 * session, so predicted and measured changes compare under the same load.
 */
export async function timeAgainstBase(dir: string, baseDir: string, o: Pick<LatencyTableOptions, 'runtime' | 'threads' | 'batch' | 'maxSeconds' | 'signal'>): Promise<{ model: LatencyPoint; unmodified: LatencyPoint }> {
  const r = await measureInterleaved([baseDir, dir], { runtime: o.runtime, threads: o.threads, batch: o.batch, secondsPerModel: o.maxSeconds, ...(o.signal ? { signal: o.signal } : {}) });
  const [b, m] = r.models as [InterleavedModelStats, InterleavedModelStats];
  return { model: { p50Ms: m.p50Ms, p95Ms: m.p95Ms }, unmodified: { p50Ms: b.p50Ms, p95Ms: b.p95Ms } };
}

/** Measures (or reads back) the table: `baseDir` is the unmodified model, `narrowed` the one-layer changes. */
export async function measureLatencyTable(baseDir: string, narrowed: readonly NarrowedModel[], o: LatencyTableOptions, floorDir?: string): Promise<LatencyTable> {
  const t0 = performance.now();
  const memo = new MeasurementMemo(o.memoDir);
  const key = (layer: string, ratio: number, stat: string) =>
    measurementKey({ table: 'auto-latency@1', model: o.modelDigest, runtime: o.runtime, threads: o.threads, batch: o.batch, maxSeconds: o.maxSeconds, layer, ratio, stat });
  const read = async (layer: string, ratio: number, a: string, b: string): Promise<[number, number] | undefined> => {
    const [x, y] = [await memo.get(key(layer, ratio, a)), await memo.get(key(layer, ratio, b))];
    return x !== undefined && y !== undefined ? [x, y] : undefined;
  };
  const known = await Promise.all(narrowed.map((n) => read(n.layer, n.ratio, 'dp50', 'dp95')));
  // The floor's key names every (layer, largest ratio) it stands for.
  const floorKey = `floor:${narrowed.map((n) => `${n.layer}@${n.ratio}`).join(',')}`;
  const floorKnown = floorDir ? await read(floorKey, 0, 'dp50', 'dp95') : undefined;
  const floorTodo = floorDir !== undefined && !floorKnown;
  const todo = narrowed.filter((_, i) => !known[i]);
  let base = await read('', 0, 'p50', 'p95');
  if (todo.length > 0 || !base || floorTodo) {
    const models = todo.length + 1 + (floorTodo ? 1 : 0);
    o.onEntry?.(0, models, `timing ${models} models on ${o.runtime}`);
    const r = await measureInterleaved([baseDir, ...todo.map((n) => n.dir), ...(floorTodo ? [floorDir!] : [])], {
      runtime: o.runtime,
      threads: o.threads,
      batch: o.batch,
      secondsPerModel: o.maxSeconds,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const b = r.models[0]!;
    base = [b.p50Ms, b.p95Ms];
    await memo.put(key('', 0, 'p50'), b.p50Ms);
    await memo.put(key('', 0, 'p95'), b.p95Ms);
    for (const [i, n] of todo.entries()) {
      const m = r.models[i + 1]!;
      await memo.put(key(n.layer, n.ratio, 'dp50'), m.p50Ms - b.p50Ms);
      await memo.put(key(n.layer, n.ratio, 'dp95'), m.p95Ms - b.p95Ms);
    }
    if (floorTodo) {
      const f = r.models[todo.length + 1]!;
      await memo.put(key(floorKey, 0, 'dp50'), f.p50Ms - b.p50Ms);
      await memo.put(key(floorKey, 0, 'dp95'), f.p95Ms - b.p95Ms);
    }
    o.onEntry?.(models, models, `timed ${models} models`);
  }
  const floorDelta = floorDir ? await read(floorKey, 0, 'dp50', 'dp95') : undefined;
  const entries: LatencyEntry[] = [];
  for (const n of narrowed) {
    const [dP50Ms, dP95Ms] = (await read(n.layer, n.ratio, 'dp50', 'dp95'))!;
    entries.push({ layer: n.layer, ratio: n.ratio, dP50Ms, dP95Ms });
  }
  return {
    runtime: o.runtime,
    threads: o.threads,
    batch: o.batch,
    maxSeconds: o.maxSeconds,
    base: { p50Ms: base[0], p95Ms: base[1] },
    entries,
    ...(floorDelta ? { floor: { p50Ms: Math.max(0, base[0] + floorDelta[0]), p95Ms: Math.max(0, base[1] + floorDelta[1]) } } : {}),
    measured: todo.length,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}

/**
 * A layer's setting's latency change against the unmodified model (ms,
 * usually negative): the table's entry for a structured ratio, 0 for
 * everything else (see the file comment: nothing else moves latency on a
 * dense runtime).
 */
export function latencyCost(table: LatencyTable, layer: string, setting: LayerSetting): LatencyPoint {
  if (setting.structured === undefined || setting.structured === 0) return { p50Ms: 0, p95Ms: 0 };
  const e = table.entries.find((x) => x.layer === layer && x.ratio === setting.structured);
  if (!e) throw new TypeError(`Expected a latency entry for ${layer} at ratio ${setting.structured}, got none`);
  return { p50Ms: e.dP50Ms, p95Ms: e.dP95Ms };
}

/** Predicted latency of an assignment: the base plus the sum of its layers' changes, never below the floor (or 0). */
export function predictLatency(table: LatencyTable, assignment: Readonly<Record<string, LayerSetting>>): LatencyPoint {
  let { p50Ms, p95Ms } = table.base;
  for (const [layer, s] of Object.entries(assignment)) {
    const c = latencyCost(table, layer, s);
    p50Ms += c.p50Ms;
    p95Ms += c.p95Ms;
  }
  return { p50Ms: Math.max(table.floor?.p50Ms ?? 0, p50Ms), p95Ms: Math.max(table.floor?.p95Ms ?? 0, p95Ms) };
}
