/**
 * The one training loop, used by the train stage and by every stage that
 * fine-tunes (finetune.ts), and its pieces: batches to tensors, accuracy/loss
 * evaluation, seeded randomness.
 *
 * `runEpochs` is deterministic: seeded shuffling, seeded Math.random
 * (dropout), per-image augmentation from its own seeded stream. It is open
 * where the stages differ:
 *
 * - `loss(xs, ys)`: distillation replaces cross-entropy with its own loss;
 * - `transformGrads(grads)`: share sums gradients per cluster (Deep
 *   Compression eq. 3) before the optimizer sees them;
 * - `afterStep()`: prune re-applies masks and share re-snaps weights after
 *   every optimizer step, so the constraint holds whatever the optimizer did;
 * - `beforeEpoch()`: prune advances its sparsity schedule;
 * - `afterEpoch()`: train validates, reports and stops early.
 *
 * Micro-batches: on wasm a step's tensors must fit the backend's heap (4 GiB,
 * see src/engine/wasm-memory.ts); past it the module aborts unrecoverably.
 * So before the first step on wasm, `runEpochs` measures a step's memory at
 * batch 1 and 2 and, when `batchSize` would not fit, splits each batch into
 * micro-batches whose gradients it sums (weighted by their share of the
 * batch) before one optimizer step: the same update up to float rounding,
 * except that batch normalisation sees micro-batch statistics.
 * `microBatchSize` sets the split explicitly (any backend).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import { batches, mulberry32, seededRandom } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { fusedAdam } from '../../engine/fused-adam.js';
import { useFusedBatchNormTraining } from '../../engine/fused-batch-norm-training.js';
import { useLazyConvGradients } from '../../engine/lazy-conv-gradients.js';
import { largestFittingBatch, mib, stepMemoryFrom, WASM_HEAP_MAX_BYTES, WASM_HEAP_PLANNING_SHARE } from '../../engine/wasm-memory.js';
import type { StageProgress } from '../../plugin.js';
import { ExampleProgress } from './example-progress.js';
import type { Schedule } from './train-schedule.js';
import { learningRateAt } from './train-schedule.js';
import { checkpoint } from './abort-checkpoint.js';
import { DataParallel, workerCount } from './data-parallel.js';

/** How every training loop (train, finetune, distill) runs its epochs: the options they share. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'momentum' | 'adam';
  learningRate: number;
  momentum: number;
  schedule: Schedule;
  /**
   * Examples per forward/backward pass; their gradients are summed into one
   * optimizer step per `batchSize` examples. Default: `batchSize` (no
   * split), except on wasm when a batch would not fit the wasm heap: then the
   * largest size that fits (measured before the first step).
   */
  microBatchSize?: number;
  /**
   * Threads that share each batch (data parallel, data-parallel.ts): each
   * computes the gradients of its contiguous shard, averaged into one step.
   * Default 1. Deterministic for a fixed seed and worker count; needs the
   * default loss. Example: `workers: 2` on a 2-core machine.
   */
  workers?: number;
}

/**
 * The optimizer runEpochs steps with (exported so bench/profile-train.mjs
 * profiles the same one). Adam is tf.train.adam with its step fused into one
 * kernel per variable where the backend has it (src/engine/fused-adam.ts):
 * the same results, a tenth of the kernel calls.
 */
export function makeOptimizer(tf: Tf, c: Pick<TrainingSettings, 'optimizer' | 'learningRate' | 'momentum'>) {
  switch (c.optimizer) {
    case 'sgd':
      return tf.train.sgd(c.learningRate);
    case 'momentum':
      return tf.train.momentum(c.learningRate, c.momentum);
    case 'adam':
      return fusedAdam(tf, c.learningRate);
  }
}

/** Where a training loop is open: see the file comment. */
export interface TrainingHooks {
  /** Loss for one batch; default: categorical cross-entropy on the softmax output. */
  loss?: (xs: tfTypes.Tensor, ys: tfTypes.Tensor, training: boolean) => tfTypes.Scalar;
  /** Rewrites gradients (by variable name) before the optimizer applies them. */
  transformGrads?: (grads: tfTypes.NamedTensorMap) => tfTypes.NamedTensorMap;
  /** Runs after every optimizer step (masks, re-snapping). */
  afterStep?: (step: number) => void;
  /** Runs before each epoch (0-based), e.g. to advance a pruning schedule. */
  beforeEpoch?: (epoch: number) => void | Promise<void>;
  /** Runs after each epoch; returning `'stop'` ends training there (early stopping). */
  afterEpoch?: (epoch: EpochSummary) => void | 'stop' | Promise<void | 'stop'>;
}

/** One finished epoch. */
export interface EpochSummary {
  /** 1-based. */
  epoch: number;
  /** The learning rate the schedule gave this epoch. */
  lr: number;
  /** Mean training loss over the epoch's examples. */
  loss: number;
  /** Wall time of the epoch's batches. */
  ms: number;
}

export interface EpochsRun {
  epochs: EpochSummary[];
  steps: number;
  /** Examples per forward/backward pass (`batchSize` unless split). */
  microBatchSize?: number;
}

export interface RunEpochsOptions {
  data: Dataset;
  /** Rewrites a batch's copied inputs in place (augmentation). */
  augment?: (x: Float32Array, count: number) => void;
  /** Seeds Math.random for the whole loop (dropout). */
  seed: number;
  /** Seeds the shuffling (a stream of its own, so other options leave the order alone). */
  shuffleSeed: number;
  signal: AbortSignal;
  /** Told when the batch is split automatically (which micro-batch size, and why). */
  notice?: (message: string) => void;
  /** Heap size to plan wasm steps against. Default: WASM_HEAP_MAX_BYTES (4 GiB - 64 KiB); tests pass less. */
  wasmHeapBytes?: number;
  /**
   * Reports progress inside each epoch (examples done / total, examples per
   * second, ETA) at most every `progressIntervalMs` (example-progress.ts);
   * usually `ctx.progress`. Costs one clock read per batch.
   */
  progress?: (p: StageProgress) => void;
  /** What the epoch is called in those reports; default `epoch 2/5`. */
  progressLabel?: (epoch: number, epochs: number) => string;
  /** Default: progressIntervalMs() (the MODELPRESS_PROGRESS_MS environment variable, else 1 s). */
  progressIntervalMs?: number;
}

/**
 * Trains `model` in place for `settings.epochs` epochs (fewer if `afterEpoch`
 * says stop). Aborting stops between two batches with the signal's reason.
 */
export async function runEpochs(
  tf: Tf,
  model: tfTypes.LayersModel,
  settings: TrainingSettings,
  opts: RunEpochsOptions,
  hooks: TrainingHooks = {},
): Promise<EpochsRun> {
  // Only the default loss reads labels; a stage with its own (distill's soft term) may train on unlabelled data.
  const missing = hooks.loss ? undefined : missingLabels(opts.data, 'training');
  if (missing) throw new Error(missing);
  const run: EpochsRun = { epochs: [], steps: 0 };
  // The built models end in softmax, so the loss is cross-entropy on
  // probabilities (what Keras' categoricalCrossentropy computes), not
  // softmaxCrossEntropy, which would apply a second softmax.
  const loss =
    hooks.loss ??
    ((xs: tfTypes.Tensor, ys: tfTypes.Tensor, training: boolean) =>
      tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training }) as tfTypes.Tensor).mean() as tfTypes.Scalar);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tfTypes.Variable }).val);
  // Linear convs otherwise compute every input gradient, even the images' (src/engine/lazy-conv-gradients.ts).
  useLazyConvGradients(tf, model);
  // Training-mode batch norm as one kernel each way where the backend has it (src/engine/fused-batch-norm-training.ts).
  useFusedBatchNormTraining(tf, model);
  // Before the seeded stream starts, so the probe leaves dropout's draws alone.
  const workers = workerCount(settings.workers);
  if (workers > 1 && hooks.loss) throw new Error(`workers: ${workers} needs the default loss (a stage's own loss function cannot run in another thread)`);
  const micro = await microBatchSizeFor(tf, model, settings, opts, loss, vars);
  run.microBatchSize = micro;
  const parallel = workers > 1 ? await DataParallel.start(tf, model, vars, opts.data, workers, settings.batchSize, opts.seed) : undefined;
  await withSeededMathRandom(opts.seed, async () => {
    const optimizer = makeOptimizer(tf, settings);
    const shuffle = seededRandom(opts.shuffleSeed);
    try {
      for (let epoch = 0; epoch < settings.epochs; epoch++) {
        await checkpoint(opts.signal);
        await hooks.beforeEpoch?.(epoch);
        const lr = learningRateAt(settings.schedule, settings.learningRate, epoch, settings.epochs);
        // tfjs optimizers read `learningRate` on every step; assigning it keeps
        // Adam's moment estimates, which a fresh optimizer would lose.
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const e0 = performance.now();
        let sum = 0;
        let seen = 0;
        const label = opts.progressLabel?.(epoch + 1, settings.epochs) ?? `epoch ${epoch + 1}/${settings.epochs}`;
        const progress = opts.progress
          ? new ExampleProgress(opts.progress, { total: opts.data.count, label, ...(opts.progressIntervalMs !== undefined ? { intervalMs: opts.progressIntervalMs } : {}) })
          : undefined;
        for (const idx of batches(opts.data, settings.batchSize, { shuffle: true, random: shuffle })) {
          await checkpoint(opts.signal);
          const { value, grads } = parallel
            ? await parallelGradients(tf, parallel, opts, idx, loss, vars)
            : batchGradients(tf, opts, idx, micro, loss, vars);
          const applied = hooks.transformGrads ? hooks.transformGrads(grads) : grads;
          optimizer.applyGradients(Object.entries(applied).map(([name, tensor]) => ({ name, tensor })));
          // Not `afterStep?.(run.steps++)`: without a hook the argument is never evaluated.
          const step = run.steps++;
          hooks.afterStep?.(step);
          sum += (await value.data())[0]! * idx.length;
          seen += idx.length;
          progress?.add(idx.length);
          tf.dispose([value, ...Object.values(grads), ...(applied === grads ? [] : Object.values(applied))]);
        }
        const summary: EpochSummary = { epoch: epoch + 1, lr, loss: sum / seen, ms: Math.round(performance.now() - e0) };
        run.epochs.push(summary);
        if ((await hooks.afterEpoch?.(summary)) === 'stop') break;
      }
    } finally {
      optimizer.dispose();
      await parallel?.close();
    }
  });
  return run;
}

/** One batch's loss and gradients over the data-parallel ranks: this thread computes the first shard. */
function parallelGradients(
  tf: Tf,
  parallel: DataParallel,
  opts: RunEpochsOptions,
  idx: ArrayLike<number>,
  loss: LossFn,
  vars: tfTypes.Variable[],
): Promise<{ value: tfTypes.Scalar; grads: tfTypes.NamedTensorMap }> {
  const { x, y } = batchArrays(opts.data, idx, opts.augment);
  return parallel.batchGradients(x, y, idx.length, (xs, ys, n) => {
    const t = tf.tidy(() => ({ xs: tf.tensor(xs, [n, ...opts.data.shape]), ys: tf.oneHot(tf.tensor1d(ys, 'int32'), opts.data.classes) }));
    try {
      return tf.variableGrads(() => loss(t.xs, t.ys, true), vars);
    } finally {
      tf.dispose([t.xs, t.ys]);
    }
  });
}

type LossFn = (xs: tfTypes.Tensor, ys: tfTypes.Tensor, training: boolean) => tfTypes.Scalar;

/**
 * Loss and gradients of one batch, computed in slices of `micro` examples
 * when the batch is larger: each slice's mean loss and gradients weighted by
 * its share of the batch and summed, which is the batch mean's gradient.
 */
function batchGradients(
  tf: Tf,
  opts: RunEpochsOptions,
  idx: ArrayLike<number>,
  micro: number,
  loss: LossFn,
  vars: tfTypes.Variable[],
): { value: tfTypes.Scalar; grads: tfTypes.NamedTensorMap } {
  if (idx.length <= micro) {
    const { xs, ys } = toTensors(tf, opts.data, idx, opts.augment);
    try {
      return tf.variableGrads(() => loss(xs, ys, true), vars);
    } finally {
      tf.dispose([xs, ys]);
    }
  }
  let value: tfTypes.Scalar | undefined;
  let grads: tfTypes.NamedTensorMap = {};
  for (let start = 0; start < idx.length; start += micro) {
    const part = Array.prototype.slice.call(idx, start, Math.min(idx.length, start + micro)) as number[];
    const share = part.length / idx.length;
    const { xs, ys } = toTensors(tf, opts.data, part, opts.augment);
    const g = tf.variableGrads(() => loss(xs, ys, true), vars);
    tf.dispose([xs, ys]);
    const next = tf.tidy(() => {
      const v = g.value.mul(share) as tfTypes.Scalar;
      const out: tfTypes.NamedTensorMap = {};
      for (const [name, t] of Object.entries(g.grads)) out[name] = grads[name] ? grads[name]!.add(t.mul(share)) : t.mul(share);
      return { v: value ? (value.add(v) as tfTypes.Scalar) : v, out };
    });
    tf.dispose([g.value, ...Object.values(g.grads), ...(value ? [value] : []), ...Object.values(grads)]);
    value = next.v;
    grads = next.out;
  }
  return { value: value!, grads };
}

/**
 * Examples per forward/backward pass: `settings.microBatchSize` when given;
 * else, on wasm, the largest that fits the heap (see wasm-memory.ts) when the
 * batch does not; else the batch size.
 *
 * @throws Error when not even one example's step fits the wasm heap.
 */
async function microBatchSizeFor(
  tf: Tf,
  model: tfTypes.LayersModel,
  settings: TrainingSettings,
  opts: RunEpochsOptions,
  loss: LossFn,
  vars: tfTypes.Variable[],
): Promise<number> {
  const batch = settings.batchSize;
  if (settings.microBatchSize !== undefined) {
    const m = settings.microBatchSize;
    if (!Number.isInteger(m) || m < 1) throw new TypeError(`Expected microBatchSize to be a positive integer, got ${m}`);
    return Math.min(m, batch);
  }
  if (tf.getBackend() !== 'wasm' || opts.data.count < 2 || batch < 2) return batch;
  const peakAt1 = await probeStepBytes(tf, model, opts.data, 1, loss, vars);
  const peakAt2 = await probeStepBytes(tf, model, opts.data, 2, loss, vars);
  const step = stepMemoryFrom(peakAt1, peakAt2);
  const heap = opts.wasmHeapBytes ?? WASM_HEAP_MAX_BYTES;
  const fits = largestFittingBatch(step, tf.memory().numBytes, heap);
  if (fits >= batch) return batch;
  const budget = `${mib(heap * WASM_HEAP_PLANNING_SHARE)} of the wasm heap's ${mib(heap)}`;
  const need = `${mib(step.fixedBytes)} + ${mib(step.perExampleBytes)} per example, with ${mib(tf.memory().numBytes)} already held`;
  if (fits < 1) {
    throw new Error(
      `A training step of this model needs more than ${budget} on wasm even for one example (${need}). ` +
        'Use a smaller input size, or the cpu or tfjs-node backend, whose memory is not limited to 4 GiB.',
    );
  }
  opts.notice?.(
    `batch ${batch} does not fit the wasm heap (${need}; planning within ${budget}); ` +
      `the largest batch that fits is ${fits}, so each batch runs as micro-batches of ${fits} ` +
      'with gradients summed into one step (set microBatchSize to choose)',
  );
  return fits;
}

/**
 * Peak new tensor bytes of one forward/backward pass on the first `n`
 * examples. Batch norm updates its moving statistics in training mode, so
 * the model's non-trainable weights are put back afterwards.
 */
async function probeStepBytes(
  tf: Tf,
  model: tfTypes.LayersModel,
  data: Dataset,
  n: number,
  loss: LossFn,
  vars: tfTypes.Variable[],
): Promise<number> {
  const kept = model.nonTrainableWeights.map((w) => (w.read() as tfTypes.Tensor).clone());
  // Counted from before the batch's own tensors: they are part of a step.
  const before = tf.memory().numBytes;
  const { xs, ys } = toTensors(tf, data, Array.from({ length: n }, (_, i) => i));
  try {
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => loss(xs, ys, true), vars);
      tf.dispose([value, ...Object.values(grads)]);
    });
    return Math.max(0, info.peakBytes - before);
  } finally {
    model.nonTrainableWeights.forEach((w, i) => w.write(kept[i]!));
    tf.dispose([xs, ys, ...kept]);
  }
}

/**
 * One batch as tensors: inputs shaped like the model expects, one-hot labels.
 * `transform` may rewrite the batch's copied inputs in place first
 * (augmentation); the dataset itself is never touched.
 */
export function toTensors(
  tf: Tf,
  ds: Dataset,
  idx: ArrayLike<number>,
  transform?: (x: Float32Array, count: number) => void,
): { xs: tfTypes.Tensor; ys: tfTypes.Tensor } {
  const { x, y } = batchArrays(ds, idx, transform);
  // Unlabelled data (labels -1, maybe 0 classes) has no targets: zeros, which only a loss that reads no labels may use (runEpochs refuses the default loss).
  if (ds.labelled === false) return tf.tidy(() => ({ xs: tf.tensor(x, [idx.length, ...ds.shape]), ys: tf.zeros([idx.length, ds.classes]) }));
  return tf.tidy(() => ({ xs: tf.tensor(x, [idx.length, ...ds.shape]), ys: tf.oneHot(tf.tensor1d(y, 'int32'), ds.classes) }));
}

/** One batch on the host: inputs copied (then `transform`ed in place) and class indices. */
export function batchArrays(
  ds: Dataset,
  idx: ArrayLike<number>,
  transform?: (x: Float32Array, count: number) => void,
): { x: Float32Array; y: Int32Array } {
  const size = ds.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(idx.length * size);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    x.set(ds.x.subarray(j * size, (j + 1) * size), i * size);
    y[i] = ds.y[j]!;
  }
  transform?.(x, idx.length);
  return { x, y };
}

/**
 * Why `ds` cannot be used for `use` (training, accuracy), or undefined when it
 * has labels. Unlabelled data (`labelled: false`, labels -1) would otherwise
 * become all-zero one-hot targets: a loss of 0 and an accuracy of nonsense,
 * silently.
 */
export function missingLabels(ds: Dataset, use: string): string | undefined {
  if (ds.labelled !== false) return undefined;
  return `dataset \`${ds.name}\` has no labels, and ${use} needs them`;
}

/**
 * Top-1 accuracy (percent) and mean cross-entropy of `model` on `ds`, in
 * batches. `signal`: stop between two batches once the run is interrupted.
 * @throws Error when `ds` has no labels.
 */
export async function evaluateAccuracy(tf: Tf, model: tfTypes.LayersModel, ds: Dataset, batchSize: number, signal?: AbortSignal): Promise<{ accuracy: number; loss: number }> {
  const missing = missingLabels(ds, 'accuracy');
  if (missing) throw new Error(`${missing}; evaluate judges unlabelled data by agreement with a reference model`);
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < ds.count; start += batchSize) {
    await checkpoint(signal);
    const idx = Array.from({ length: Math.min(batchSize, ds.count - start) }, (_, i) => start + i);
    const { xs, ys } = toTensors(tf, ds, idx);
    const [hits, loss] = tf.tidy(() => {
      const p = model.predict(xs) as tfTypes.Tensor;
      const hit = tf.equal(tf.argMax(p, -1), tf.argMax(ys, -1)).sum();
      // The models end in softmax; clip so log(0) cannot appear.
      const ce = tf.neg(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(p, 1e-7, 1)))));
      return [hit, ce];
    });
    correct += (await hits.data())[0]!;
    lossSum += (await loss.data())[0]!;
    tf.dispose([xs, ys, hits, loss]);
  }
  return { accuracy: (100 * correct) / ds.count, loss: lossSum / ds.count };
}

/**
 * Runs `fn` with Math.random replaced by a PRNG seeded with `seed`. tfjs's
 * random ops without an explicit seed (dropout) draw from Math.random; this
 * makes them reproducible. Safe because each stage runs in its own worker.
 */
async function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = mulberry32(seed ^ 0x9e3779b9);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
