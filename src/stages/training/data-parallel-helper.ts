/**
 * What a data-parallel helper thread (rank >= 1; see data-parallel.ts) does,
 * as a function: data-parallel-worker.ts is only its entry, so this code is
 * in the static import closure of every stage that trains, and so in their
 * cache keys (src/plan/stage-code.ts follows static imports only). It rebuilds
 * the model from its JSON on the same backend, then per step copies rank
 * 0's weights in, computes the mean loss and gradients of its shard with the
 * default loss (categorical cross-entropy on the softmax output, as
 * runEpochs), and writes them into the shared gradient buffer in
 * trainable-weight order. It never updates weights itself.
 */
import type { MessagePort } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';
import { mulberry32 } from '../../data/dataset.js';
import { registerWasmTrainingKernels } from '../../engine/kernels/index.js';
import { useFusedBatchNormTraining } from '../../engine/fused-batch-norm-training.js';
import { useLazyConvGradients } from '../../engine/lazy-conv-gradients.js';
import type { BackendName } from '../../engine/backend.js';
import { loadTf } from '../../engine/tf.js';
import { Control } from './data-parallel-control.js';
import type { HelperInit, HelperReply } from './data-parallel.js';

/** Serves `init`'s rank over `port` until told to close. */
export async function serveDataParallelHelper(init: HelperInit, port: MessagePort): Promise<void> {
  const send = (m: HelperReply): void => port.postMessage(m);
  try {
    const tf = await loadTf(init.backend as BackendName, { beforeReady: (t) => { if (init.backend === 'wasm') registerWasmTrainingKernels(t); } });
    // Dropout draws from Math.random: this rank's own seeded stream.
    Math.random = mulberry32(init.seed ^ 0x9e3779b9);
    const model = (await tf.models.modelFromJSON(JSON.parse(init.modelJson) as tfTypes.io.ModelJSON)) as tfTypes.LayersModel;
    // As runEpochs does on rank 0: same gradients, without the unneeded ones.
    useLazyConvGradients(tf, model);
    useFusedBatchNormTraining(tf, model);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tfTypes.Variable }).val);
    const weights = new Float32Array(init.weights);
    const grads = new Float32Array(init.grads);
    const x = new Float32Array(init.x);
    const y = new Int32Array(init.y);
    const per = init.inputShape.reduce((a, b) => a * b, 1);

    const control = new Int32Array(init.control);
    const lossOut = new Float64Array(init.loss);
    const step = (count: number): void => {
      let at = 0;
      // Views of the shared buffers, no staging copy: wasm copies them onto its heap; cpu may keep the
      // view, which rank 0 rewrites only between steps (after this rank's answer).
      tf.tidy(() =>
        model.setWeights(init.weightShapes.map((shape) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const t = tf.tensor(weights.subarray(at, at + n), shape);
          at += n;
          return t;
        })),
      );
      const { value, grads: g } = tf.tidy(() => {
        const xs = tf.tensor(x.subarray(0, count * per), [count, ...init.inputShape]);
        const ys = tf.oneHot(tf.tensor1d(y.subarray(0, count), 'int32'), init.classes);
        return tf.variableGrads(
          () => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tfTypes.Tensor).mean() as tfTypes.Scalar,
          vars,
        );
      });
      let g0 = 0;
      for (const v of vars) {
        grads.set(g[v.name]!.dataSync() as Float32Array, g0);
        g0 += v.size;
      }
      lossOut[0] = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(g)]);
    };
    // Steps come through the control words (data-parallel-control.ts); this
    // thread does nothing else, so it blocks between them.
    const serve = (): void => {
      // STEP starts at 0 and only rank 0 moves it: the first step may already be posted.
      let seen = 0;
      for (;;) {
        Atomics.wait(control, Control.STEP, seen);
        const now = Atomics.load(control, Control.STEP);
        if (now === Control.CLOSE) return;
        if (now === seen) continue;
        seen = now;
        let status: number = Control.OK;
        try {
          step(Atomics.load(control, Control.COUNT));
        } catch (e) {
          send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
          status = Control.FAILED;
        }
        Atomics.store(control, Control.STATUS, status);
        Atomics.store(control, Control.DONE, seen);
        Atomics.notify(control, Control.DONE);
      }
    };
    send({ type: 'ready' });
    // After 'ready' is on its way: serving blocks this thread's event loop.
    setImmediate(() => {
      serve();
      port.close();
    });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}
