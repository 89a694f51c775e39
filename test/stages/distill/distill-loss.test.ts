/**
 * The distillation loss against a hand computation (float64, in plain JS) of
 * Hinton et al.'s formula and its gradient, and the logits view of a model:
 * the stripped-softmax outputs are the log-probabilities up to a per-row
 * constant, the original model keeps its softmax.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { createEngine } from '../../../src/engine/engine.js';
import type { Tf } from '../../../src/engine/tf.js';
import { copyWeightsByLayer, logitsView } from '../../../src/stages/distill/distill-logits.js';
import { distillationLoss } from '../../../src/stages/distill/distill-loss.js';

const softmax = (z: number[], T = 1) => {
  const m = Math.max(...z.map((v) => v / T));
  const e = z.map((v) => Math.exp(v / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** The loss and d loss / d z_s, by hand, for a batch (mean over rows). */
function byHand(zs: number[][], zt: number[][], labels: number[], T: number, alpha: number) {
  const n = zs.length;
  let loss = 0;
  const grad = zs.map((row, i) => {
    const p = softmax(row);
    const ps = softmax(row, T);
    const pt = softmax(zt[i]!, T);
    const hard = -Math.log(p[labels[i]!]!);
    const kl = pt.reduce((s, q, j) => s + q * (Math.log(q) - Math.log(ps[j]!)), 0);
    loss += (alpha * hard + (1 - alpha) * T * T * kl) / n;
    // The paper's gradient: the soft term gives (1 - alpha) * T * (q_s - q_t).
    return row.map((_, j) => (alpha * (p[j]! - (j === labels[i] ? 1 : 0)) + (1 - alpha) * T * (ps[j]! - pt[j]!)) / n);
  });
  return { loss, grad };
}

const ZS = [
  [1.0, 2.0, 0.5, -1.5],
  [-1.0, 0.0, 3.0, 0.25],
  [0.3, -0.7, 0.1, 2.2],
];
const ZT = [
  [3.0, -1.0, 0.0, 1.0],
  [0.5, 0.2, 4.0, -2.0],
  [-0.5, -0.5, 1.5, 6.0],
];
const LABELS = [1, 2, 3];

describe('distillation loss', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = await createEngine('wasm', 1).tf();
  });

  const cases: [number, number][] = [
    [4, 0.1],
    [1, 0.5],
    [2, 0],
    [20, 0.3],
    [4, 1],
    [0.5, 0.7],
  ];
  test.each(cases)('T=%p alpha=%p: value and gradient match the hand computation', async (T, alpha) => {
    const expected = byHand(ZS, ZT, LABELS, T, alpha);
    const zt = tf.tensor2d(ZT);
    const ys = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 4);
    const { value, grad } = tf.valueAndGrad((zs: tfTypes.Tensor) => distillationLoss(tf, zs, zt, ys, { temperature: T, alpha }))(tf.tensor2d(ZS));
    const v = (await value.data())[0]!;
    const g = (await grad.array()) as number[][];
    // float32 arithmetic against float64: agreement to ~1e-6 relative.
    expect(Math.abs(v - expected.loss)).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected.loss)));
    g.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - expected.grad[i]![j]!)).toBeLessThan(2e-7 * Math.max(1, T))));
  });

  test('the T^2 factor is there and the hard term uses T = 1', async () => {
    // Hand-checked numbers for one row: z_s = [0, 0], z_t = [2, 0], label 0, T = 2, alpha = 0.5.
    // p_s = [1/2, 1/2]; q_t = softmax([1, 0]) = [e/(e+1), 1/(e+1)] = [0.731059, 0.268941].
    // hard = ln 2 = 0.693147; KL = sum q_t ln(q_t / 0.5) = 0.0662; loss = 0.5*0.693147 + 0.5*4*KL.
    const qt = [Math.E / (Math.E + 1), 1 / (Math.E + 1)];
    const kl = qt[0]! * Math.log(qt[0]! / 0.5) + qt[1]! * Math.log(qt[1]! / 0.5);
    const { value, grad } = tf.valueAndGrad((zs: tfTypes.Tensor) =>
      distillationLoss(tf, zs, tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0]]), { temperature: 2, alpha: 0.5 }),
    )(tf.tensor2d([[0, 0]]));
    expect((await value.data())[0]).toBeCloseTo(0.5 * Math.LN2 + 0.5 * 4 * kl, 6);
    // d/dz_s0 = 0.5 * (1/2 - 1) + 0.5 * 2 * (1/2 - 0.731059) = -0.25 - 0.231059
    const g = (await grad.array()) as number[][];
    expect(g[0]![0]).toBeCloseTo(-0.25 + 1 * (0.5 - qt[0]!), 6);
    expect(g[0]![1]).toBeCloseTo(0.25 + 1 * (0.5 - qt[1]!), 6);
  });

  test('a student equal to the teacher has zero soft loss and zero soft gradient', async () => {
    const z = tf.tensor2d(ZS);
    const ys = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 4);
    const { value, grad } = tf.valueAndGrad((zs: tfTypes.Tensor) => distillationLoss(tf, zs, z, ys, { temperature: 4, alpha: 0 }))(z);
    expect(Math.abs((await value.data())[0]!)).toBeLessThan(1e-6);
    for (const x of await grad.data()) expect(Math.abs(x)).toBeLessThan(1e-7);
  });
});

describe('logits view', () => {
  let tf: Tf;
  const engine = createEngine('wasm', 3);
  beforeAll(async () => {
    tf = await engine.tf();
  });

  const inputs = (rows: number, cols: number) => {
    let s = 7;
    const v = Array.from({ length: rows * cols }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
    return tf.tensor2d(v, [rows, cols]);
  };

  async function expectLogitsOfProbabilities(model: tfTypes.LayersModel, view: tfTypes.LayersModel, x: tfTypes.Tensor) {
    const p = (await (model.predict(x) as tfTypes.Tensor).array()) as number[][];
    const z = (await (view.predict(x) as tfTypes.Tensor).array()) as number[][];
    for (const [i, row] of p.entries()) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5); // the model still outputs probabilities
      const diff = row.map((q, j) => z[i]![j]! - Math.log(q));
      expect(Math.max(...diff) - Math.min(...diff)).toBeLessThan(2e-5); // z = log p + c(row)
      expect(z[i]!.reduce((a, b) => a + b, 0)).not.toBeCloseTo(1, 2); // and the view does not
    }
  }

  test('mlp: the softmax is stripped, logits = log p + constant per row', async () => {
    const model = await engine.buildModel({ arch: 'mlp', units: [16, 8] });
    // Scale the last layer so the logits spread widely (as a trained model's do).
    const last = model.getLayer('dense3');
    last.setWeights(last.getWeights().map((w) => tf.mul(w, 6)));
    const view = await logitsView(tf, model, 'teacher');
    expect(view.strippedSoftmax).toBe(true);
    expect(view.outputLayer).toBe('dense3');
    expect(view.note).toBe('teacher: output layer `dense3` ends in softmax; distilling on its logits (softmax stripped in a training copy, kept in the model)');
    expect((model.getLayer('dense3').getConfig() as { activation: string }).activation).toBe('softmax');
    await expectLogitsOfProbabilities(model, view.model, inputs(6, 784));
  });

  test('functional models ending in an Activation or Softmax layer', async () => {
    for (const head of ['activation', 'softmax'] as const) {
      const input = tf.input({ shape: [5] });
      const dense = tf.layers.dense({ name: 'logits', units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tfTypes.SymbolicTensor;
      const out = (head === 'activation' ? tf.layers.activation({ name: 'probs', activation: 'softmax' }) : tf.layers.softmax({ name: 'probs' })).apply(dense) as tfTypes.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const view = await logitsView(tf, model, 'student');
      expect(view.strippedSoftmax).toBe(true);
      expect(view.outputLayer).toBe('probs');
      await expectLogitsOfProbabilities(model, view.model, inputs(4, 5));
    }
  });

  test('a linear output is taken as logits; a sigmoid output is refused', async () => {
    const linear = tf.sequential({ layers: [tf.layers.dense({ name: 'out', units: 3, inputShape: [2] })] });
    const v = await logitsView(tf, linear, 'teacher');
    expect(v.strippedSoftmax).toBe(false);
    expect(v.note).toBe('teacher: output layer `out` is linear; its outputs are taken as logits');
    const sigmoid = tf.sequential({ layers: [tf.layers.dense({ name: 'out', units: 3, inputShape: [2], activation: 'sigmoid' })] });
    await expect(logitsView(tf, sigmoid, 'student')).rejects.toThrow(
      'student: output layer `out` has activation `sigmoid`; distillation needs the logits, so the output must be a softmax (which is stripped) or linear',
    );
  });

  test('copyWeightsByLayer is right when one model has frozen layers', async () => {
    const model = await engine.buildModel({ arch: 'mlp', units: [4] });
    const view = await logitsView(tf, model, 'student');
    view.model.getLayer('dense1').trainable = false; // moves dense1's weights after dense2's in getWeights()
    view.model.getLayer('dense2').setWeights(view.model.getLayer('dense2').getWeights().map((w) => tf.add(w, 1)));
    copyWeightsByLayer(view.model, model);
    for (const name of ['dense1', 'dense2']) {
      const a = model.getLayer(name).getWeights();
      const b = view.model.getLayer(name).getWeights();
      for (const [i, w] of a.entries()) expect(Array.from(await w.data())).toEqual(Array.from(await b[i]!.data()));
    }
  });
});
