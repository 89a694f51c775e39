/**
 * Structured pruning of recurrent units (issue 21): removing LSTM and GRU
 * units shrinks every gate block of kernel, recurrent kernel and bias, the
 * recurrent kernel's rows, and the next layer's input rows; the smaller
 * model computes exactly what the original computes with those units'
 * outputs held at zero (their recurrent rows and outgoing rows zeroed), on
 * real MNIST rows.
 */
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { StageConfigError } from '../../../src/plugin.js';
import { gateColumns, recurrentNormScores } from '../../../src/stages/prune/prune-recurrent-units.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { maxRelDiff, stockLoad } from '../../helpers/functional-model.js';

type Tf = Awaited<ReturnType<Harness['engine']['tf']>>;

function buildModel(tf: Tf, second: 'gru' | 'lstm' | 'simpleRNN' = 'gru', norm = false): LayersModel {
  const L = tf.layers;
  let s = 31;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  // Non-zero biases, so a wrong bias cut would show in the outputs.
  const bias = () => tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: s++ });
  const rec = { kernelInitializer: init(), recurrentInitializer: init(), biasInitializer: bias() };
  return tf.sequential({
    layers: [
      L.reshape({ name: 'rows', targetShape: [28, 28], inputShape: [28, 28, 1] }),
      L.lstm({ name: 'lstm', units: 8, returnSequences: true, ...rec }),
      ...(norm ? [L.layerNormalization({ name: 'norm' })] : []),
      L[second]({ name: 'second', units: 6, kernelInitializer: init(), recurrentInitializer: init(), biasInitializer: bias() }),
      L.dense({ name: 'out', units: 10, kernelInitializer: init(), biasInitializer: bias() }),
    ],
  });
}

/** Zeroes what reads units `units` of `layer`: their recurrent-kernel rows and `next`'s input rows. */
function silence(tf: Tf, model: LayersModel, layer: string, next: string, units: number[]): void {
  const zeroRows = (w: Tensor, rows: number[]) => {
    const v = Float32Array.from(w.dataSync());
    const width = w.shape[1]!;
    for (const r of rows) v.fill(0, r * width, (r + 1) * width);
    return tf.tensor(v, w.shape);
  };
  const [k, rk, b] = model.getLayer(layer).getWeights();
  model.getLayer(layer).setWeights([k!, zeroRows(rk!, units), b!]);
  const [nk, ...rest] = model.getLayer(next).getWeights();
  model.getLayer(next).setWeights([zeroRows(nk!, units), ...rest]);
}
let tfRef: Tf;

describe('prune: structured recurrent units', () => {
  let h: Harness;
  let x: Tensor;
  beforeAll(async () => {
    h = await createHarness({ data: { rows: { uses: 'mnist', split: 'test', limit: 16 } } });
    tfRef = await h.engine.tf();
    const d = await h.ctx().data('rows');
    x = tfRef.tensor(d.x, [d.count, ...d.shape]);
  });
  afterAll(() => h.cleanup());

  const run = async (second: 'gru' | 'lstm' | 'simpleRNN', config: Record<string, unknown>, norm = false) => {
    const model = buildModel(tfRef, second, norm);
    const dir = join(h.dir, `m-${second}-${norm}`);
    await h.engine.saveModel(model, dir);
    const r = await h.run(pruneStage, { method: 'structured', ...config } as never, modelInput(await h.artifact(dir)));
    return { model, r };
  };

  test.each(['gru', 'lstm', 'simpleRNN'] as const)('LSTM 8 -> %s 6 -> Dense: half the units go, shapes shrink, outputs equal the silenced original', async (second) => {
    const { model, r } = await run(second, { sparsity: 0.5 });
    const m = r.metrics as Record<string, any>;
    const removedLstm = m.layers.lstm.removed as number[];
    const removedSecond = m.layers.second.removed as number[];
    expect(removedLstm).toHaveLength(4);
    expect(removedSecond).toHaveLength(3);
    const pruned = await stockLoad(tfRef, r.outputs.model!);
    const gates = { gru: 3, lstm: 4, simpleRNN: 1 }[second];
    const shapes = (l: string) => pruned.getLayer(l).getWeights().map((w) => w.shape);
    expect(shapes('lstm')).toEqual([[28, 16], [4, 16], [16]]);
    expect(shapes('second')).toEqual([[4, 3 * gates], [3, 3 * gates], [3 * gates]]);
    expect(shapes('out')).toEqual([[3, 10], [10]]);
    expect(m.summary?.paramsAfter ?? pruned.countParams()).toBeLessThan(model.countParams());

    silence(tfRef, model, 'lstm', 'second', removedLstm);
    silence(tfRef, model, 'second', 'out', removedSecond);
    const want = (model.predict(x) as Tensor).dataSync();
    const got = (pruned.predict(x) as Tensor).dataSync();
    expect(maxRelDiff(got, want)).toBeLessThan(1e-5);
    // Not trivially: the silenced units mattered.
    const fresh = (buildModel(tfRef, second).predict(x) as Tensor).dataSync();
    expect(maxRelDiff(fresh, want)).toBeGreaterThan(1e-3);
  });

  test('a recurrent layer feeding LayerNormalization is refused, naming both', async () => {
    const err = await run('gru', { sparsity: 0.5, layers: { lstm: {} } }, true).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StageConfigError);
    expect((err as Error).message).toMatch(/layer `lstm` feeds `norm` \(LayerNormalization\)/);
  });

  test('gate columns and unit scores follow tfjs gate blocks', () => {
    expect(gateColumns([0, 2], 3, 4)).toEqual([0, 2, 3, 5, 6, 8, 9, 11]);
    // 2 units, 2 gates: columns [u0 g0, u1 g0, u0 g1, u1 g1]; unit 1 holds the large weights.
    const kernel = Float32Array.from([0.1, 2, -0.1, -3]);
    const recurrent = Float32Array.from([0, 1, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(recurrentNormScores(kernel, recurrent, 2, 2, 'l1'))).toEqual([Math.fround(0.1) + Math.fround(0.1), 7]);
  });
});
