/**
 * fusedAdam (src/engine/fused-adam.ts, kernel src/engine/kernels/adam-update.ts)
 * against tf.train.adam:
 * - six steps on seeded variables and gradients: the fused step on wasm gives
 *   the same bits as tf.train.adam on the cpu backend and on wasm (variables
 *   and both moments; max abs difference asserted to be 0, since every
 *   operation is the same float32 operation in the same order);
 * - the kernel's wasm SIMD path (taken on Node 20) and its scalar loop give
 *   the same bits, over a length that leaves a tail of 3 for the scalar loop;
 * - on cpu (no fused kernel) it is the stock step;
 * - its state is tfjs Adam's: getWeights after fused steps, setWeights into a
 *   stock Adam, and the continued run matches six stock steps;
 * - LeNet-5 on 512 real MNIST digits, one epoch of runEpochs on wasm, fused
 *   vs stock: identical weights, so identical test accuracy, and each step
 *   runs one update kernel per variable instead of ~14 composed ones.
 */
import { jest } from '@jest/globals';
import type { AdamOptimizer, Tensor } from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/dataset.js';
import { mnistLoader } from '../../src/data/mnist.js';
import { buildModel } from '../../src/engine/builders.js';
import { fusedAdam } from '../../src/engine/fused-adam.js';
import { ADAM_UPDATE, adamUpdate } from '../../src/engine/kernels/adam-update.js';
import type { AdamUpdateAttrs } from '../../src/engine/kernels/adam-update.js';
import { adamSimdFor } from '../../src/engine/kernels/adam-update-simd.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { evaluateAccuracy, runEpochs } from '../../src/stages/training/train-loop.js';
import { setupBackends, tf, uniform } from './kernels/helpers.js';
import type { BackendId } from './kernels/helpers.js';

const SHAPES = [[5, 5, 1, 6], [6], [30, 17], [1]];
const STEPS = 6;
/** Large enough that the bias correction and epsilon matter in the first steps; gradients span 1e-4..1. */
const LR = 0.01;

beforeAll(async () => {
  await setupBackends();
});

type Make = (lr: number) => AdamOptimizer;
const stock: Make = (lr) => tf.train.adam(lr);
const fused: Make = (lr) => fusedAdam(tf, lr);

/** Gradient `step` of variable `k`: seeded, some tiny, some zero, so every branch of the arithmetic runs. */
function gradient(k: number, step: number): Float32Array {
  return uniform(SHAPES[k]!, 100 * k + step).map((g, i) => (i % 7 === 0 ? 0 : i % 3 === 0 ? g * 1e-4 : g));
}

/** Runs `steps` Adam steps from seeded variables; returns the variables and the optimizer's state. */
async function run(
  backend: BackendId,
  make: Make,
  opts: { steps?: number; handOver?: Make } = {},
): Promise<{ values: Float32Array[]; state: { name: string; values: Float32Array }[] }> {
  await tf.setBackend(backend);
  const vars = SHAPES.map((s, k) => tf.variable(tf.tensor(uniform(s, 10 + k), s), true, `fused_adam_${backend}_${k}`));
  let optimizer = make(LR);
  const steps = opts.steps ?? STEPS;
  for (let step = 0; step < steps; step++) {
    if (opts.handOver && step === 3) {
      const next = opts.handOver(LR);
      await next.setWeights(await optimizer.getWeights());
      optimizer.dispose();
      optimizer = next;
    }
    const grads = vars.map((v, k) => ({ name: v.name, tensor: tf.tensor(gradient(k, step), v.shape) }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const weights = await optimizer.getWeights();
  const state = await Promise.all(weights.map(async (w) => ({ name: w.name, values: (await w.tensor.data()) as Float32Array })));
  const values = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  optimizer.dispose();
  tf.dispose(vars);
  return { values, state };
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
  let worst = 0;
  a.forEach((x, k) => x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[k]![i]!)))));
  return worst;
}

describe('fused Adam step', () => {
  test('on wasm: the same bits as tf.train.adam on cpu and on wasm, over six steps (variables and moments)', async () => {
    const reference = await run('cpu', stock);
    const stockWasm = await run('wasm', stock);
    const mine = await run('wasm', fused);
    // Moved: a zero difference because nothing moved would prove nothing.
    expect(maxAbsDiff(mine.values, SHAPES.map((s, k) => uniform(s, 10 + k)))).toBeGreaterThan(LR);
    expect(mine.state.map((s) => s.name.replace(/^fused_adam_wasm_/, ''))).toEqual(
      reference.state.map((s) => s.name.replace(/^fused_adam_cpu_/, '')),
    );
    for (const other of [reference, stockWasm]) {
      expect(maxAbsDiff(mine.values, other.values)).toBe(0);
      expect(maxAbsDiff(mine.state.map((s) => s.values), other.state.map((s) => s.values))).toBe(0);
    }
  });

  test('the SIMD path is taken here and gives the scalar loop\'s bits', async () => {
    await tf.setBackend('wasm');
    const memory = ((tf.backend() as BackendWasm).wasm as unknown as { asm: { memory: object } }).asm.memory;
    expect(adamSimdFor(memory)).not.toBeNull();
    const n = 1003;
    const [x, m, v, g] = [1, 2, 3, 4].map((seed) => uniform([n], seed));
    v!.forEach((e, i) => (v![i] = Math.abs(e)));
    const attrs: AdamUpdateAttrs = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, oneMinusAccBeta1: Math.fround(1 - Math.fround(0.729)), oneMinusAccBeta2: Math.fround(1 - Math.fround(0.997)) };
    const out = tf.tidy(() => {
      const inputs = { x: tf.tensor(x!), m: tf.tensor(m!), v: tf.tensor(v!), g: tf.tensor(g!) };
      return (tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as Record<string, number>) as Tensor[]).map((t) => t.dataSync() as Float32Array);
    });
    const expected = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
    adamUpdate(x!, m!, v!, g!, ...expected, attrs);
    expect(maxAbsDiff(out, [...expected])).toBe(0);
    expect(maxAbsDiff([expected[0]], [x!])).toBeGreaterThan(1e-3);
  });

  test('on cpu (no fused kernel) it is the stock step', async () => {
    expect(tf.getKernel(ADAM_UPDATE, 'cpu')).toBeUndefined();
    const a = await run('cpu', fused);
    const b = await run('cpu', stock);
    expect(maxAbsDiff(a.values, b.values)).toBe(0);
  });

  test('its state is tfjs Adam state: handed to a stock Adam after 3 fused steps, the run continues as if stock throughout', async () => {
    const handed = await run('wasm', fused, { handOver: stock });
    const back = await run('wasm', stock, { handOver: fused });
    const stockOnly = await run('wasm', stock);
    expect(maxAbsDiff(handed.values, stockOnly.values)).toBe(0);
    expect(maxAbsDiff(back.values, stockOnly.values)).toBe(0);
  });
});

describe('LeNet-5 on real MNIST with runEpochs (adam) on wasm', () => {
  let train: Dataset;
  let testSet: Dataset;
  beforeAll(async () => {
    train = await mnistLoader.load({ split: 'train', limit: 512 }, { baseDir: process.cwd() });
    testSet = await mnistLoader.load({ split: 'test', limit: 256 }, { baseDir: process.cwd() });
  });

  /** One epoch at batch 64; with `stockStep` the fused kernel is unregistered, so the optimizer takes tfjs's step. */
  async function trainOnce(stockStep: boolean): Promise<{ weights: Float32Array[]; accuracy: number; updateCalls: number; variables: number }> {
    await tf.setBackend('wasm');
    const config = tf.getKernel(ADAM_UPDATE, 'wasm');
    if (stockStep) tf.unregisterKernel(ADAM_UPDATE, 'wasm');
    try {
      const model = buildModel(tf, { arch: 'lenet5' }, 3);
      const settings = { epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 0.001, momentum: 0, schedule: { kind: 'constant' as const } };
      // Counted at the engine, not with tf.profile: runEpochs profiles a probe step itself, which ends an outer profile.
      const runKernel = jest.spyOn(tf.engine(), 'runKernel');
      let updateCalls: number;
      try {
        await runEpochs(tf, model, settings, { data: train, seed: 1, shuffleSeed: 2, signal: new AbortController().signal });
        updateCalls = runKernel.mock.calls.filter(([name]) => name === ADAM_UPDATE).length;
      } finally {
        runKernel.mockRestore();
      }
      const { accuracy } = await evaluateAccuracy(tf, model, testSet, 128);
      const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
      const variables = model.trainableWeights.length;
      model.dispose();
      return { weights, accuracy, updateCalls, variables };
    } finally {
      if (stockStep) tf.registerKernel(config);
    }
  }

  test('fused and stock steps train to identical weights and accuracy', async () => {
    const a = await trainOnce(false);
    const b = await trainOnce(true);
    // One update kernel per variable and step (512 / 64 = 8 steps).
    expect(a.variables).toBeGreaterThan(4);
    expect(a.updateCalls).toBe(8 * a.variables);
    expect(b.updateCalls).toBe(0);
    expect(maxAbsDiff(a.weights, b.weights)).toBe(0);
    expect(a.accuracy).toBe(b.accuracy);
    // It learned: 8 steps on 512 digits lift LeNet-5 well above chance (10%).
    expect(a.accuracy).toBeGreaterThan(40);
  }, 60_000);
});
