/**
 * Per-layer latency table on the device's runtime, NetAdapt-style (Yang et
 * al. 2018): the latency of the unmodified model, and of the model with one
 * layer narrowed (narrowed-models.ts), timed side by side in one Node child
 * process on the runtime (src/measure/interleaved-latency.ts: round-robin
 * turns, so the machine's load drifts the same for all; timed one after
 * another in separate processes on a shared 2-core box, the base came out
 * 0.40 ms in one run and 0.79 ms in the next, and a narrowed layer slower
 * than the base). A (layer, ratio) entry is its p50/p95 difference to the
 * unmodified model in the same session.
 *
 * The prediction of an assignment (predictLatency) uses the p50 changes only:
 * - p50: the anchor (the machine's speed: the median of the unmodified
 *   model's timings as every trial is timed, ANCHOR_TIMINGS of them just
 *   before the search and one beside each trial) plus the sum of its layers' p50
 *   changes, in proportion to the anchor (anchor p50 / table base p50, so a
 *   table timed under other load still applies), scaled so that every
 *   layer at its largest ratio sums to the measured floor, and never below
 *   the floor.
 * - p95: that p50 plus the anchor's tail (the median p95 - p50).
 * Why not the p95 changes: a table entry gets a few hundred runs, and the
 * 95th percentile of so few swings with the machine. Timed together in one
 * session, 56 copies of the same MobileNetV2 read p95 11.2-14.3 ms (p50
 * 8.3-8.6 ms), while narrowing one of its layers moves it by 0.1-1 ms. The
 * tail is the machine's, not the layer's: a trial narrowed to p50 5.17 ms
 * had p95 6.47 ms beside the unmodified model's 8.15 / 9.49 ms (a tail of
 * 1.30 against 1.34 ms). The p95 changes stay in the table, as measured.
 * Why the floor scale: on that MobileNetV2 the single-layer p50 savings at
 * the largest ratio summed to -2.74 ms, and the model with all of them
 * measured -4.16 ms (a smaller model also keeps more of itself in cache);
 * on an MLP, the sum double-counts the narrower input of the next layer
 * (optimistic). Scaling to the measured end keeps the layers' order and
 * makes the allocations near the floor, where a tight budget lives, right.
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
  /**
   * What the single-layer p50 changes are multiplied by: the floor's change
   * over the sum of the largest ratios' changes, so that together they make
   * the floor. 1 without a floor, or when that ratio is outside
   * [1/SAVING_SCALE_LIMIT, SAVING_SCALE_LIMIT] (the changes are then
   * mostly noise, and a larger factor would multiply it).
   */
  savingScale: number;
  /**
   * The machine's speed: where predictions start, and what trials are judged
   * at (machineSpeed over `anchorTimings`); the table's base when absent.
   */
  anchor?: LatencyPoint;
  /** Every timing of the unmodified model as trials are timed (timeAgainstBase): ANCHOR_TIMINGS before the search, then the one beside each trial. */
  anchorTimings?: LatencyPoint[];
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
    savingScale: floorDelta ? savingScale(entries, floorDelta[0]) : 1,
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

/** The largest factor `savingScale` may be, either way (see LatencyTable.savingScale). */
export const SAVING_SCALE_LIMIT = 4;

/** The floor's p50 change over the sum of every layer's change at its largest ratio (1 when that is not a saving both ways, or out of bounds). */
export function savingScale(entries: readonly LatencyEntry[], floorDP50Ms: number): number {
  const largest = new Map<string, LatencyEntry>();
  for (const e of entries) if ((largest.get(e.layer)?.ratio ?? -1) < e.ratio) largest.set(e.layer, e);
  const sum = [...largest.values()].reduce((a, e) => a + e.dP50Ms, 0);
  if (!(sum < 0 && floorDP50Ms < 0)) return 1;
  const scale = floorDP50Ms / sum;
  return scale >= 1 / SAVING_SCALE_LIMIT && scale <= SAVING_SCALE_LIMIT ? scale : 1;
}

/** A latency's tail: its p95 above its p50 (the machine's, added to every predicted p50). */
const tailOf = (p: LatencyPoint): number => Math.max(0, p.p95Ms - p.p50Ms);

/** Where predictions start (the anchor, else the base) and the factor that brings the table's p50 changes to it. */
function reference(table: LatencyTable): { start: LatencyPoint; toAnchor: number } {
  const start = table.anchor ?? table.base;
  return { start, toAnchor: table.base.p50Ms > 0 ? start.p50Ms / table.base.p50Ms : 1 };
}

/**
 * A layer's setting's latency change against the unmodified model (ms,
 * usually negative), as predictLatency adds it up: the table's p50 change
 * for a structured ratio, scaled (savingScale, the anchor), for p50 and p95
 * alike (the tail is the machine's); 0 for everything else (see the file
 * comment: nothing else moves latency on a dense runtime).
 */
export function latencyCost(table: LatencyTable, layer: string, setting: LayerSetting): LatencyPoint {
  if (setting.structured === undefined || setting.structured === 0) return { p50Ms: 0, p95Ms: 0 };
  const e = table.entries.find((x) => x.layer === layer && x.ratio === setting.structured);
  if (!e) throw new TypeError(`Expected a latency entry for ${layer} at ratio ${setting.structured}, got none`);
  const d = e.dP50Ms * table.savingScale * reference(table).toAnchor;
  return { p50Ms: d, p95Ms: d };
}

/** The unmodified model's predicted latency, and the fastest reachable one's (when known), on the anchor's terms. */
export function latencyEnds(table: LatencyTable): { base: LatencyPoint; floor?: LatencyPoint } {
  const { start, toAnchor } = reference(table);
  if (!table.floor) return { base: start };
  const p50Ms = table.floor.p50Ms * toAnchor;
  return { base: start, floor: { p50Ms, p95Ms: p50Ms + tailOf(start) } };
}

/** How many times the unmodified model is timed before the search (timeAgainstBase, `trialSeconds` each) to start the machine speed. */
export const ANCHOR_TIMINGS = 3;

/**
 * The machine's speed over timings of the unmodified model: their median
 * p50, and that plus their median tail. One timing is a moment of the shared
 * machine: in a user's run the unmodified MobileNetV2 read p50 11.05 ms just
 * before the search and 8.54 ms beside the first trial, which then met its
 * p95 budget as timed and missed it at the single timing's speed. The median
 * of several ignores such a moment; a trial's own timing joins the pool
 * before it is judged, so a machine that slows down for good moves the
 * speed with it.
 */
export function machineSpeed(timings: readonly LatencyPoint[]): LatencyPoint {
  if (timings.length === 0) throw new RangeError('Expected at least one timing of the unmodified model, got none');
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const p50Ms = median(timings.map((t) => t.p50Ms));
  return { p50Ms, p95Ms: p50Ms + median(timings.map(tailOf)) };
}

/**
 * A trial's latency at the anchor's machine speed: as timed, times anchor p50
 * over the p50 of the unmodified model timed beside it. On a quiet shared
 * machine the unmodified MobileNetV2 read p50 7.97 ms at the anchor and
 * 10.3-10.6 ms beside two trials eight minutes later; both trials were as
 * much faster than it as predicted (0.80 and 0.72 of it, predicted 0.77 and
 * 0.69) and missed their budget as timed.
 */
export function atAnchorSpeed(timed: LatencyPoint, unmodified: LatencyPoint, anchor: LatencyPoint): LatencyPoint {
  const f = unmodified.p50Ms > 0 ? anchor.p50Ms / unmodified.p50Ms : 1;
  return { p50Ms: timed.p50Ms * f, p95Ms: timed.p95Ms * f };
}

/** Predicted latency of an assignment: see the file comment. */
export function predictLatency(table: LatencyTable, assignment: Readonly<Record<string, LayerSetting>>): LatencyPoint {
  const { base, floor } = latencyEnds(table);
  let p50Ms = base.p50Ms;
  for (const [layer, s] of Object.entries(assignment)) p50Ms += latencyCost(table, layer, s).p50Ms;
  p50Ms = Math.max(floor?.p50Ms ?? 0, p50Ms);
  return { p50Ms, p95Ms: p50Ms + tailOf(base) };
}
