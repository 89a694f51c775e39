/**
 * Training the PyTorch MobileNet-class model imported from ONNX
 * (examples/pytorch/mobilenet-mini.onnx: BN folded into the convs by
 * torch.onnx.export, depthwise convs behind ZeroPadding2D at stride 2,
 * ReLU6, residual Adds, the appended Softmax) on wasm, with our depthwise
 * gradient kernels, must move every weight as the cpu backend does.
 *
 * Why this model and not only the Keras fixture of mobilenet-grads.test.ts:
 * examples/pytorch/mobilenet-mini-onnx.yaml lost 49 pp after prune ->
 * share -> quantize, and the wasm kernels were the first suspect. This pins
 * what ruled them out: Adam steps at the recipe's learning rate from
 * the same weights on the same batch agree with cpu to float tolerance
 * (measured max |diff| 6e-6), so a kernel that regresses on this graph
 * fails here, in seconds, instead of as a silent accuracy drop in a run.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { importOnnxBytes } from '../../../src/formats/onnx/import-onnx.js';
import { errorStats, firstMismatch, onBackend, setupBackends, tf, uniform } from './helpers.js';
import type { BackendId, Tolerance } from './helpers.js';

const MODEL = join(process.cwd(), 'examples/pytorch/mobilenet-mini.onnx');
// As the whole-model gradients of mobilenet-grads.test.ts: errors compound
// through layers and Adam's normalisation; a wrong kernel is off by O(lr).
const STEP_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-6 };
const LEARNING_RATE = 0.0005;
const STEPS = 2;
const BATCH = 4;

beforeAll(async () => {
  await setupBackends();
});

interface Trained {
  names: string[];
  before: Float32Array[];
  after: Float32Array[];
}

async function train(backend: BackendId, bytes: Uint8Array): Promise<Trained> {
  return onBackend(backend, () => {
    const { model } = importOnnxBytes(tf, bytes, 'mobilenet-mini.onnx');
    const before = model.trainableWeights.map((w) => w.read().dataSync().slice() as Float32Array);
    const x = tf.tensor(uniform([BATCH, 28, 28, 1], 7).map((v) => (v + 1) / 2), [BATCH, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => (i * 7) % 10), 'int32'), 10);
    const optimizer = tf.train.adam(LEARNING_RATE);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let step = 0; step < STEPS; step++) {
      const { value, grads } = tf.variableGrads(
        () => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as Tensor).mean() as tf.Scalar,
        vars,
      );
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([value, ...Object.values(grads)]);
    }
    const out = {
      names: model.trainableWeights.map((w) => w.originalName),
      before,
      after: model.trainableWeights.map((w) => w.read().dataSync().slice() as Float32Array),
    };
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
    return out;
  });
}

describe('one fine-tuning run of the imported PyTorch MobileNet-class model', () => {
  test('Adam steps on wasm move every weight as on cpu', async () => {
    const bytes = new Uint8Array(await readFile(MODEL));
    const expected = await train('cpu', bytes);
    const actual = await train('wasm', bytes);
    expect(actual.names).toEqual(expected.names);
    expect(actual.names.filter((n) => n.endsWith('/depthwise_kernel'))).toEqual([
      'onnx_8_conv/depthwise_kernel',
      'onnx_14_conv/depthwise_kernel',
      'onnx_26_conv/depthwise_kernel',
    ]);
    actual.names.forEach((name, i) => {
      // The steps did something: Adam moves each weight by about lr per step.
      const moved = errorStats(expected.after[i]!, expected.before[i]!).abs;
      expect({ name, moved: moved > LEARNING_RATE / 2 }).toEqual({ name, moved: true });
      const problem = firstMismatch(actual.after[i]!, expected.after[i]!, STEP_TOLERANCE);
      const worst = errorStats(actual.after[i]!, expected.after[i]!);
      expect({ name, problem, worst }).toEqual({ name, problem: undefined, worst });
    });
  });
});
