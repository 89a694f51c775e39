/**
 * Data-parallel training: one batch's gradients computed on `workers`
 * threads, each on its own contiguous shard of the batch, then averaged
 * into the one gradient the optimizer applies (train's and finetune's
 * `workers:` option, runEpochs' `settings.workers`).
 *
 * Why threads and not a second backend: tfjs-backend-wasm runs one thread
 * per Node worker, and two worker threads run two wasm matmuls in parallel
 * at full speed each (DESIGN.md "Engine facts"); so one training can use
 * both cores of a 2-core machine.
 *
 * How a step goes: the stage's thread (rank 0) builds the batch exactly as
 * the one-thread loop does (same shuffled indices, same augmentation), keeps
 * the first shard, copies each other shard's inputs and labels and the
 * current weights into SharedArrayBuffers, and wakes the helpers (rank 1..)
 * through a shared control word (Atomics.notify; a helper's answer comes
 * back the same way: a message through the event loop cost ~2 ms of a
 * ~25 ms LeNet-5 step in wake-ups);
 * every rank computes the mean loss and gradients of its shard; rank 0 then
 * averages them weighted by shard size, as tensors on the backend (one
 * float32 product and sum per shard, always in rank order, so the float
 * sums are the same every run; a loop over the values in JavaScript cost
 * milliseconds per step while the helpers idled) and applies the optimizer
 * once. The helpers never update weights: they copy rank 0's at
 * the start of every step.
 *
 * Deterministic for a fixed seed and worker count: the shards are fixed by
 * position, each helper seeds Math.random (dropout) from `seed` and its
 * rank, and the reduction order is fixed. A different worker count gives
 * the same update up to float rounding (the weighted mean of shard means is
 * the batch mean) except for dropout masks and batch normalisation, whose
 * batch statistics are per shard (the moving averages are rank 0's).
 *
 * Limits: the default loss only (a stage's own loss function cannot cross
 * threads), and no micro-batches within a shard.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset.js';
import type { Tf } from '../../engine/tf.js';
import { PACKAGE_ROOT } from '../../package-info.js';
import { Control } from './data-parallel-control.js';
// Not called here: imported so the helpers' code is in this module's static closure (and so in cache keys).
export { serveDataParallelHelper } from './data-parallel-helper.js';

/** The helper thread's entry: compiled, because workers load dist/ (run `npm run build`). */
export const DATA_PARALLEL_WORKER = join(PACKAGE_ROOT, 'dist', 'stages', 'training', 'data-parallel-worker.js');

/** Each shard's weight in the batch mean, as float32 (what multiplies its mean gradients). */
export function shardShares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, c) => a + c, 0);
  if (total <= 0) throw new RangeError(`Expected shards with examples, got ${counts.length} shards holding ${total}`);
  return counts.map((c) => Math.fround(c / total));
}

/**
 * Where each rank's shard starts and how many examples it holds: contiguous,
 * sizes differing by at most one, the larger ones first.
 */
export function shardBounds(count: number, workers: number): { start: number; count: number }[] {
  const base = Math.floor(count / workers);
  const extra = count % workers;
  const out: { start: number; count: number }[] = [];
  let start = 0;
  for (let r = 0; r < workers; r++) {
    const n = base + (r < extra ? 1 : 0);
    out.push({ start, count: n });
    start += n;
  }
  return out;
}

/** Checks `settings.workers`: "Expected X, got Y". Returns the count (1 when absent). */
export function workerCount(workers: unknown): number {
  if (workers === undefined) return 1;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new TypeError(`Expected workers to be an integer from 1 to 64, got ${JSON.stringify(workers)}`);
  }
  return workers;
}

/** What the helper needs to rebuild the model and read its shard (sent once, at start). */
export interface HelperInit {
  rank: number;
  backend: string;
  modelJson: string;
  seed: number;
  weightShapes: number[][];
  inputShape: number[];
  classes: number;
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  /** Int32 words, see data-parallel-control.ts. */
  control: SharedArrayBuffer;
  /** One float64: the helper's shard loss of the last step. */
  loss: SharedArrayBuffer;
}

/** What a helper says through messages: ready once loaded; errors (steps go through the control words). */
export type HelperReply = { type: 'ready' } | { type: 'error'; message: string };

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The helper threads of one training and rank 0's part of each step. Create
 * with {@link DataParallel.start}; always `close()` (a finally block).
 */
export class DataParallel {
  private constructor(
    private readonly tf: Tf,
    private readonly model: tfTypes.LayersModel,
    private readonly vars: tfTypes.Variable[],
    private readonly data: Dataset,
    private readonly helpers: { worker: Worker; init: HelperInit; replies: HelperReply[]; wake: (() => void) | undefined }[],
  ) {}

  /**
   * Starts `workers - 1` helper threads with `model`'s architecture on the
   * backend `tf` runs on, and waits until each has loaded it.
   */
  static async start(tf: Tf, model: tfTypes.LayersModel, vars: tfTypes.Variable[], data: Dataset, workers: number, batchSize: number, seed: number): Promise<DataParallel> {
    const weightShapes = model.weights.map((w) => w.shape.map((d) => d ?? 1));
    const weights = new SharedArrayBuffer(4 * weightShapes.reduce((a, s) => a + size(s), 0));
    const gradLength = vars.reduce((a, v) => a + v.size, 0);
    const maxShard = Math.ceil(batchSize / workers);
    const modelJson = JSON.stringify(model.toJSON(null, false));
    const helpers: DataParallel['helpers'] = [];
    const dp = new DataParallel(tf, model, vars, data, helpers);
    try {
      for (let rank = 1; rank < workers; rank++) {
        const init: HelperInit = {
          rank, backend: tf.getBackend() === 'tensorflow' ? 'tfjs-node' : tf.getBackend(), modelJson, seed: (seed ^ Math.imul(rank, 0x85ebca6b)) >>> 0,
          weightShapes, inputShape: [...data.shape], classes: data.classes, weights,
          grads: new SharedArrayBuffer(4 * gradLength),
          x: new SharedArrayBuffer(4 * maxShard * size(data.shape)),
          y: new SharedArrayBuffer(4 * maxShard),
          control: new SharedArrayBuffer(4 * Control.WORDS),
          loss: new SharedArrayBuffer(8),
        };
        const worker = new Worker(DATA_PARALLEL_WORKER, { workerData: init });
        const helper: DataParallel['helpers'][number] = { worker, init, replies: [], wake: undefined };
        worker.on('message', (m: HelperReply) => { helper.replies.push(m); helper.wake?.(); });
        worker.on('error', (e) => { helper.replies.push({ type: 'error', message: e.message }); helper.wake?.(); });
        worker.on('exit', (code) => { helper.replies.push({ type: 'error', message: `exited with code ${code}` }); helper.wake?.(); });
        helpers.push(helper);
      }
      // 'ready' is the only message that is not an error.
      for (const h of helpers) await dp.next(h);
      return dp;
    } catch (e) {
      await dp.close();
      throw e;
    }
  }

  /**
   * Waits for helper `h` to finish the step just started; returns its shard
   * loss. Blocks in short Atomics.waits (the answer usually comes while
   * waiting) and lets the event loop run between them, so a helper that
   * died or reported an error is noticed instead of waited for forever.
   */
  private async done(h: DataParallel['helpers'][number]): Promise<number> {
    const control = new Int32Array(h.init.control);
    const step = Atomics.load(control, Control.STEP);
    while (Atomics.load(control, Control.DONE) !== step) {
      Atomics.wait(control, Control.DONE, Atomics.load(control, Control.DONE), 20);
      if (Atomics.load(control, Control.DONE) === step) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Mid-step, only an error (or the thread's exit) is said by message: next() throws it.
      if (h.replies.length > 0) await this.next(h);
    }
    if (Atomics.load(control, Control.STATUS) !== Control.OK) {
      // The helper posted its error before setting the status: it arrives through the event loop.
      await this.next(h);
      throw new Error(`data-parallel worker ${h.init.rank}: failed without saying why`);
    }
    return new Float64Array(h.init.loss)[0]!;
  }

  /** The next message from helper `h`, once it arrives; an error is thrown with the helper's words. */
  private async next(h: DataParallel['helpers'][number]): Promise<HelperReply> {
    while (h.replies.length === 0) await new Promise<void>((resolve) => { h.wake = resolve; });
    h.wake = undefined;
    const m = h.replies.shift()!;
    if (m.type === 'error') throw new Error(`data-parallel worker ${h.init.rank}: ${m.message}`);
    return m;
  }

  /**
   * The batch's mean loss and gradients (keyed by variable name, like
   * tf.variableGrads), computed over all ranks. `x`/`y`: the batch as
   * toTensors builds it (inputs after augmentation, class indices).
   */
  async batchGradients(
    x: Float32Array,
    y: Int32Array,
    count: number,
    ownGradients: (x: Float32Array, y: Int32Array, count: number) => { value: tfTypes.Scalar; grads: tfTypes.NamedTensorMap },
  ): Promise<{ value: tfTypes.Scalar; grads: tfTypes.NamedTensorMap }> {
    const tf = this.tf;
    const per = size(this.data.shape);
    const bounds = shardBounds(count, this.helpers.length + 1);
    // The helpers start from rank 0's current weights (the optimizer ran here).
    if (this.helpers.length > 0) {
      const flat = new Float32Array(this.helpers[0]!.init.weights);
      let at = 0;
      for (const w of this.model.weights) {
        const v = (w.read() as tfTypes.Tensor).dataSync() as Float32Array;
        flat.set(v, at);
        at += v.length;
      }
    }
    this.helpers.forEach((h, i) => {
      const b = bounds[i + 1]!;
      new Float32Array(h.init.x).set(x.subarray(b.start * per, (b.start + b.count) * per));
      new Int32Array(h.init.y).set(y.subarray(b.start, b.start + b.count));
      const control = new Int32Array(h.init.control);
      Atomics.store(control, Control.COUNT, b.count);
      Atomics.add(control, Control.STEP, 1);
      Atomics.notify(control, Control.STEP);
    });
    const own = bounds[0]!;
    const mine = ownGradients(x.subarray(0, own.count * per), y.subarray(0, own.count), own.count);
    const losses = [(await mine.value.data())[0]!];
    tf.dispose(mine.value);
    try {
      for (const h of this.helpers) losses.push(await this.done(h));
    } catch (e) {
      tf.dispose(Object.values(mine.grads));
      throw e;
    }
    const shares = shardShares(bounds.map((b) => b.count));
    const grads = tf.tidy(() => {
      const out: tfTypes.NamedTensorMap = {};
      let at = 0;
      for (const v of this.vars) {
        // Rank order; rank 0 always holds examples (the larger shards come first).
        let acc = tf.mul(mine.grads[v.name]!, shares[0]!);
        this.helpers.forEach((h, i) => {
          if (bounds[i + 1]!.count === 0) return;
          acc = tf.add(acc, tf.mul(tf.tensor(new Float32Array(h.init.grads, 4 * at, v.size), v.shape), shares[i + 1]!));
        });
        out[v.name] = acc;
        at += v.size;
      }
      return out;
    });
    tf.dispose(Object.values(mine.grads));
    const loss = losses.reduce((a, l, r) => a + (bounds[r]!.count === 0 ? 0 : l * shares[r]!), 0);
    return { value: tf.scalar(loss), grads };
  }

  /** Stops the helpers (idempotent). */
  async close(): Promise<void> {
    for (const h of this.helpers) {
      const control = new Int32Array(h.init.control);
      Atomics.store(control, Control.STEP, Control.CLOSE);
      Atomics.notify(control, Control.STEP);
    }
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
    this.helpers.length = 0;
  }
}
