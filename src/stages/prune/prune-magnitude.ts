/**
 * Unstructured pruning for the `prune` stage: zero individual kernel weights
 * and keep them zero through fine-tuning.
 *
 * - `magnitude` (Han et al. 2015, Zhu & Gupta 2017): zero the round(s·n)
 *   smallest |w| of each layer (`scope: layer`), or of all targeted layers
 *   pooled (`scope: global`, one threshold, so layers with many small weights
 *   lose more of them).
 * - `threshold` (Han et al. 2015, "Learning both Weights and Connections"):
 *   zero |w| < quality · std(w) per layer.
 *
 * Masks are chosen on typed arrays (exact counts, ties broken by position, so
 * the result never depends on sort stability or the backend), and applied
 * with `tf.where(mask, w, 0)`: `w * 0` would store -0 for negative weights.
 * During fine-tuning they are re-applied after every optimizer step (the
 * finetune loop's `afterStep`), because Adam's moment estimates keep moving
 * a pruned weight long after its gradient is gone.
 */
import type { LayersModel, LayerVariable, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';
import type { Json, StageContext } from '../../plugin.js';
import { StageConfigError } from '../../stage-definition.js';
import { finetune } from '../training/finetune.js';
import type { PruneConfig } from './prune.js';
import { isUpdateStep, scheduledSparsity } from './prune-schedule.js';
import type { PruneSchedule } from './prune-schedule.js';
import { isPrunableKernel, layerNames, selectTargets, settingPath } from './prune-targets.js';
import { checkpoint } from '../training/abort-checkpoint.js';

// ---------------------------------------------------------------------------
// Masks on typed arrays (1 = keep, 0 = prune)

/** How many of `n` weights a sparsity zeroes: round(s·n), within 0..n. */
export function pruneCount(sparsity: number, n: number): number {
  return Math.max(0, Math.min(n, Math.round(sparsity * n)));
}

// Hot loops below avoid global lookups (Math.abs, Infinity): in a vm context
// (jest) each one costs ~10x the loop body.
const INF = Number.POSITIVE_INFINITY;

function magnitudes(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const a = v < 0 ? -v : v;
    // NaN ranks as the largest: pruning must never hide a broken weight.
    out[i] = a !== a ? INF : a;
  }
  return out;
}

/**
 * Keep flags that zero exactly `count` weights across `tensors` taken as one
 * pool: the smallest |w| first; among equal magnitudes, earlier tensors and
 * lower indices first. One tensor = per-layer pruning; several = global.
 */
export function smallestMasks(tensors: readonly Float32Array[], count: number): Uint8Array[] {
  const mags = tensors.map(magnitudes);
  const total = mags.reduce((n, m) => n + m.length, 0);
  const k = Math.max(0, Math.min(total, count));
  if (k === 0) return mags.map((m) => new Uint8Array(m.length).fill(1));
  if (k === total) return mags.map((m) => new Uint8Array(m.length));
  const pool = new Float32Array(total);
  let at = 0;
  for (const m of mags) {
    pool.set(m, at);
    at += m.length;
  }
  const threshold = kthSmallest(pool, k - 1);
  let below = 0;
  for (const m of mags) for (let i = 0; i < m.length; i++) if (m[i]! < threshold) below++;
  let ties = k - below;
  return mags.map((m) => {
    const keep = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) {
      const a = m[i]!;
      if (a < threshold) continue;
      if (a === threshold && ties > 0) {
        ties--;
        continue;
      }
      keep[i] = 1;
    }
    return keep;
  });
}

/**
 * The value of rank `k` (0-based) in `a`, reordering `a` in place: Hoare's
 * quickselect with a median-of-three pivot, O(n) on average. A full sort of
 * a 784x300 kernel costs ~40 ms, and a schedule recomputes masks many times.
 */
export function kthSmallest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot value.
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Han et al.'s threshold: quality · (population) standard deviation of the weights. */
export function stdThreshold(values: Float32Array, quality: number): number {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  return quality * Math.sqrt(sq / values.length);
}

/** How many |w| fall strictly below `threshold`. */
export function countBelow(values: Float32Array, threshold: number): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if ((v < 0 ? -v : v) < threshold) n++;
  }
  return n;
}

export function countZeros(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) n++;
  return n;
}

// ---------------------------------------------------------------------------
// Masks on a live model

/** One kernel tensor under a mask. */
export interface KernelTarget {
  layer: string;
  variable: LayerVariable;
  shape: number[];
  size: number;
  /** Target sparsity of this kernel (for `scope: global`, the global target). */
  final: number;
}

/**
 * The masks of a set of kernels. `update` chooses new masks from the current
 * weights; `apply` re-imposes them (after each optimizer step). Pruned
 * weights are 0 and so always the smallest, which makes masks only grow as
 * the target rises.
 */
export class MaskSet {
  private masks: Tensor[] = [];
  private readonly zeros: Tensor[];

  constructor(
    private readonly tf: Tf,
    readonly targets: readonly KernelTarget[],
    private readonly global: boolean,
  ) {
    this.zeros = targets.map((t) => tf.zeros(t.shape));
  }

  /** New masks at `sparsityOf(target)` (global: of the first target, for the pool), applied at once. */
  update(sparsityOf: (t: KernelTarget) => number): void {
    const values = this.targets.map((t) => Float32Array.from(t.variable.read().dataSync() as Float32Array));
    let keeps: Uint8Array[];
    if (this.global) {
      const total = values.reduce((n, v) => n + v.length, 0);
      keeps = smallestMasks(values, pruneCount(sparsityOf(this.targets[0]!), total));
    } else {
      keeps = values.map((v, i) => smallestMasks([v], pruneCount(sparsityOf(this.targets[i]!), v.length))[0]!);
    }
    this.tf.dispose(this.masks);
    this.masks = keeps.map((k, i) => this.tf.tensor(k, this.targets[i]!.shape, 'bool'));
    this.apply();
  }

  apply(): void {
    this.tf.tidy(() => {
      this.targets.forEach((t, i) => t.variable.write(this.tf.where(this.masks[i]!, t.variable.read(), this.zeros[i]!)));
    });
  }

  dispose(): void {
    this.tf.dispose([...this.masks, ...this.zeros]);
    this.masks = [];
  }
}

/**
 * The masks' part of fine-tuning: on `schedule` (prune-schedule.ts) over a
 * ramp of `span` optimizer steps, or at every kernel's target throughout
 * without one. `start()` masks before the first step; `afterStep(step)`
 * recomputes the masks at each update step and re-imposes them otherwise.
 * The prune stage and the auto stage's trials (gradual-pruning.ts) both
 * fine-tune through it, so a recipe fragment retrains as its trial did.
 */
export function scheduledMasks(masks: MaskSet, schedule: Pick<PruneSchedule, 'kind' | 'initialSparsity' | 'frequency'> | undefined, span: number): { start(): void; afterStep(step: number): void } {
  const at = (t: number) => (k: KernelTarget) => (schedule ? scheduledSparsity(schedule, k.final, t, span) : k.final);
  return {
    start: () => masks.update(at(0)),
    afterStep: (step) => {
      const t = step + 1;
      if (schedule && isUpdateStep(t, schedule.frequency, span)) masks.update(at(t));
      else masks.apply();
    },
  };
}

// ---------------------------------------------------------------------------
// The unstructured run

export interface UnstructuredResult {
  /** Per-layer metrics (reproducible: go into meta.json). */
  layers: Record<string, Json>;
  /** Totals and fine-tuning summary (reproducible). */
  summary: Record<string, Json>;
}

/** The weights magnitude pruning masks in `layer`: float32 kernels (also what `modelpress inspect` reports). */
export function kernelVariables(model: LayersModel, layer: string): LayerVariable[] {
  return (model.getLayer(layer).weights as LayerVariable[]).filter((w) => isPrunableKernel(w.originalName) && w.dtype === 'float32');
}

/**
 * Prunes `model` in place (magnitude or threshold, one-shot or on a schedule
 * during fine-tuning) and returns its metrics.
 */
export async function pruneUnstructured(ctx: StageContext, model: LayersModel, config: PruneConfig): Promise<UnstructuredResult> {
  const tf = await ctx.engine.tf();
  const all = layerNames(model);
  const eligible = all.filter((n) => kernelVariables(model, n).length > 0);
  const selected = selectTargets(eligible, all, config, 'layers with a kernel (Dense, Conv1D/2D, Embedding, SimpleRNN/LSTM/GRU, ...)');
  const global = config.scope === 'global';
  if (global && config.method === 'threshold') {
    throw new StageConfigError('`scope: global` applies to `method: magnitude`; the threshold method is per layer (quality · std of each layer)', ['scope']);
  }
  if (global) {
    for (const name of selected.keys()) {
      const path = settingPath(config.layers, name, 'sparsity');
      if (path) {
        throw new StageConfigError(`\`scope: global\` prunes all targeted layers to one sparsity; a per-layer \`sparsity\` (layer \`${name}\`) needs \`scope: layer\``, path);
      }
    }
  }

  const targets: KernelTarget[] = [];
  const thresholds = new Map<string, number>();
  for (const [name, settings] of selected) {
    await checkpoint(ctx.signal);
    for (const variable of kernelVariables(model, name)) {
      const shape = [...variable.shape] as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      let final = global ? config.sparsity : settings.sparsity;
      if (config.method === 'threshold') {
        const values = variable.read().dataSync() as Float32Array;
        const threshold = stdThreshold(values, settings.quality);
        thresholds.set(variable.originalName, threshold);
        final = countBelow(values, threshold) / size;
      }
      targets.push({ layer: name, variable, shape, size, final });
    }
  }

  const nonzeroBefore = await countNonzero(model);
  const schedule = config.schedule;
  const ft = config.finetune;
  if (schedule && ft.epochs > 0 && ft.epochs < schedule.epochs) {
    throw new StageConfigError(`\`schedule.epochs\` (${schedule.epochs}) exceeds \`finetune.epochs\` (${ft.epochs}): the sparsity ramp must end within fine-tuning`, ['schedule', 'epochs']);
  }
  const epochs = ft.epochs > 0 ? ft.epochs : (schedule?.epochs ?? 0);

  const masks = new MaskSet(tf, targets, global);
  const summary: Record<string, Json> = {};
  try {
    if (epochs === 0) {
      masks.update((t) => t.final);
      ctx.progress({ done: 1, total: 1, unit: 'prune', message: `${targets.length} kernels masked` });
    } else {
      const data = await ctx.data(ft.data);
      const span = schedule ? schedule.epochs * Math.ceil(data.count / ft.batchSize) : 0;
      const masking = scheduledMasks(masks, schedule, span);
      masking.start();
      const history: Json[] = [];
      const record = (epoch: number) => history.push({ epoch, sparsity: round6(maskedSparsity(targets)) });
      const result = await finetune(ctx, model, { ...ft, epochs }, {
        afterStep: masking.afterStep,
        beforeEpoch: (epoch) => {
          if (epoch > 0) record(epoch);
        },
      }, data);
      record(result.epochs);
      summary.finetune = { epochs: result.epochs, steps: result.steps, losses: result.losses.map(round6) };
      if (schedule) summary.schedule = { kind: schedule.kind, rampSteps: span, frequency: schedule.frequency, sparsityAfterEpoch: history };
    }
  } finally {
    masks.dispose();
  }

  const layers: Record<string, Json> = {};
  let weights = 0;
  let zeros = 0;
  for (const t of targets) {
    const z = countZeros(t.variable.read().dataSync() as Float32Array);
    const entry = (layers[t.layer] ??= { weights: 0, zeros: 0, sparsity: 0, target: 0 }) as Record<string, Json>;
    const w0 = entry.weights as number;
    entry.target = round6(((entry.target as number) * w0 + t.final * t.size) / (w0 + t.size));
    entry.weights = w0 + t.size;
    entry.zeros = (entry.zeros as number) + z;
    entry.sparsity = round6((entry.zeros as number) / (entry.weights as number));
    const thr = thresholds.get(t.variable.originalName);
    if (thr !== undefined) entry.threshold = round6(thr);
    weights += t.size;
    zeros += z;
  }
  const params = model.countParams();
  Object.assign(summary, {
    sparsity: round6(weights === 0 ? 0 : zeros / weights),
    prunedWeights: weights,
    zeros,
    // Unstructured pruning keeps every tensor's shape: the count is unchanged, the non-zeros drop.
    paramsBefore: params,
    paramsAfter: params,
    nonzeroParamsBefore: nonzeroBefore,
    nonzeroParamsAfter: await countNonzero(model),
  });
  return { layers, summary };
}

function maskedSparsity(targets: readonly KernelTarget[]): number {
  let n = 0;
  let z = 0;
  for (const t of targets) {
    z += countZeros(t.variable.read().dataSync() as Float32Array);
    n += t.size;
  }
  return n === 0 ? 0 : z / n;
}

async function countNonzero(model: LayersModel): Promise<number> {
  let n = 0;
  for (const w of model.weights) {
    const v = await w.read().data();
    n += v.length - countZeros(v as Float32Array);
  }
  return n;
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
