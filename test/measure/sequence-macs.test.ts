/**
 * MACs and parameters of sequence layers against hand counts, on models built
 * with tfjs itself (so the topology JSON is exactly what model.json stores),
 * and output shapes against tfjs's own shape inference.
 */
import type { io, LayersModel } from '@tensorflow/tfjs';
import { loadTf, type Tf } from '../../src/engine/tf.js';
import { countMacs } from '../../src/measure/macs.js';
import { statsFromArtifacts } from '../../src/measure/model-stats.js';
import { layerCost } from '../../src/measure/layer-cost.js';
import { UNKNOWN_LENGTH_NOTE } from '../../src/measure/sequence-cost.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('cpu');
});

async function artifactsOf(model: LayersModel): Promise<io.ModelArtifacts> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save({
    save: async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  return artifacts!;
}

/** Counts the model, checks every shape equals tfjs's, and returns name -> layer entry. */
async function count(model: LayersModel) {
  const artifacts = await artifactsOf(model);
  const macs = countMacs(artifacts.modelTopology);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const ours = macs.layers.find((l) => l.name === layer.name);
    expect([layer.name, ours?.outputShape]).toEqual([layer.name, (layer.outputShape as (number | null)[]).slice(1)]);
  }
  const stats = statsFromArtifacts(artifacts);
  // Parameters come from the weights as stored: they must be tfjs's own count, per layer.
  for (const layer of model.layers) expect([layer.name, stats.layers.find((l) => l.name === layer.name)?.params ?? 0]).toEqual([layer.name, layer.countParams()]);
  return { macs, stats, layer: (name: string) => macs.layers.find((l) => l.name === name)! };
}

describe('sequence layers: MACs per sequence and per step (hand counts)', () => {
  test('Embedding -> SimpleRNN -> LSTM -> GRU, fixed length', async () => {
    const T = 7;
    const m = tf.sequential();
    m.add(tf.layers.embedding({ name: 'emb', inputDim: 50, outputDim: 8, inputLength: T }));
    m.add(tf.layers.simpleRNN({ name: 'rnn', units: 6, returnSequences: true }));
    m.add(tf.layers.lstm({ name: 'lstm', units: 5, returnSequences: true }));
    m.add(tf.layers.gru({ name: 'gru', units: 4 }));
    m.add(tf.layers.dense({ name: 'out', units: 3 }));
    const { macs, stats, layer } = await count(m);

    // Embedding: a lookup. 50 x 8 parameters, 0 MACs.
    expect(layer('emb')).toMatchObject({ macs: 0, macsPerStep: null });
    expect(stats.layers.find((l) => l.name === 'emb')!.params).toBe(400);
    // SimpleRNN: 1 x (8*6 + 6*6) = 84 per step.
    expect(layer('rnn')).toMatchObject({ macsPerStep: 84, macs: 84 * T });
    // LSTM: 4 x (6*5 + 5*5) = 220 per step.
    expect(layer('lstm')).toMatchObject({ macsPerStep: 220, macs: 220 * T });
    // GRU (tfjs: reset_after false): 3 x (5*4 + 4*4) = 108 per step; params 3*(5*4 + 4*4 + 4).
    expect(layer('gru')).toMatchObject({ macsPerStep: 108, macs: 108 * T, outputShape: [4] });
    expect(stats.layers.find((l) => l.name === 'gru')!.params).toBe(3 * (5 * 4 + 4 * 4 + 4));
    expect(layer('out')).toMatchObject({ macs: 12, macsPerStep: null });
    expect(macs).toMatchObject({ macs: (84 + 220 + 108) * T + 12, complete: true });
  });

  test('Bidirectional(LSTM) concat and sum, TimeDistributed(Dense), Dense on [T, in]', async () => {
    const T = 5;
    const input = tf.input({ shape: [T, 3] });
    const bi = tf.layers.bidirectional({ name: 'bi', layer: tf.layers.lstm({ units: 4, returnSequences: true }) as never, mergeMode: 'concat' }).apply(input);
    const td = tf.layers.timeDistributed({ name: 'td', layer: tf.layers.dense({ units: 6 }) }).apply(bi);
    const d3 = tf.layers.dense({ name: 'd3', units: 2 }).apply(td);
    const biSum = tf.layers.bidirectional({ name: 'bisum', layer: tf.layers.gru({ units: 2 }) as never, mergeMode: 'sum' }).apply(d3);
    const { macs, layer } = await count(tf.model({ inputs: input, outputs: biSum as never }));

    // Two LSTMs of 4 x (3*4 + 4*4) = 112 per step each.
    expect(layer('bi')).toMatchObject({ macsPerStep: 224, macs: 224 * T, outputShape: [T, 8] });
    // Dense 8 -> 6 on each of the T steps.
    expect(layer('td')).toMatchObject({ macsPerStep: 48, macs: 48 * T });
    // The same computation without the wrapper: Dense on a 3-D input.
    expect(layer('d3')).toMatchObject({ macsPerStep: 12, macs: 12 * T });
    // Two GRUs of 3 x (2*2 + 2*2) = 24 per step each; sum keeps [2].
    expect(layer('bisum')).toMatchObject({ macsPerStep: 48, macs: 48 * T, outputShape: [2] });
    expect(macs.macs).toBe((224 + 48 + 12 + 48) * T);
  });

  test('Conv1D, GlobalAveragePooling1D / GlobalMaxPooling1D, LayerNormalization', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv1d({ name: 'c1', inputShape: [20, 3], filters: 8, kernelSize: 5, strides: 2 }));
    m.add(tf.layers.layerNormalization({ name: 'ln' }));
    m.add(tf.layers.conv1d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same' }));
    m.add(tf.layers.globalAveragePooling1d({ name: 'gap' }));
    m.add(tf.layers.dense({ name: 'out', units: 2 }));
    const { macs, layer } = await count(m);
    // (20 - 5 + 1) / 2 rounded up = 8 positions x 5*3*8.
    expect(layer('c1')).toMatchObject({ outputShape: [8, 8], macsPerStep: 120, macs: 8 * 120 });
    expect(layer('ln')).toMatchObject({ macs: 0 });
    expect(layer('c2')).toMatchObject({ macsPerStep: 3 * 8 * 4, macs: 8 * 96 });
    expect(layer('gap')).toMatchObject({ outputShape: [4], macs: 0 });
    expect(macs.macs).toBe(960 + 768 + 8);

    const g = tf.sequential();
    g.add(tf.layers.globalMaxPooling1d({ name: 'gmp', inputShape: [9, 5] }));
    expect((await count(g)).layer('gmp')).toMatchObject({ outputShape: [5], macs: 0 });
  });

  test('attention from Dense and Dot layers: Q K^T and weights x V', async () => {
    const T = 6;
    const x = tf.input({ shape: [T, 4] });
    const q = tf.layers.dense({ name: 'q', units: 8 }).apply(x);
    const k = tf.layers.dense({ name: 'k', units: 8 }).apply(x);
    const v = tf.layers.dense({ name: 'v', units: 5 }).apply(x);
    const scores = tf.layers.dot({ name: 'scores', axes: 2 }).apply([q, k] as never);
    const weights = tf.layers.softmax({ name: 'softmax' }).apply(scores);
    const context = tf.layers.dot({ name: 'context', axes: [2, 1] }).apply([weights, v] as never);
    const { macs, layer } = await count(tf.model({ inputs: x, outputs: context as never }));
    // [T,8] . [T,8] over the 8: T x T outputs of 8 MACs.
    expect(layer('scores')).toMatchObject({ outputShape: [T, T], macs: T * T * 8 });
    // [T,T] . [T,5] over the keys: T x 5 outputs of T MACs.
    expect(layer('context')).toMatchObject({ outputShape: [T, 5], macs: T * 5 * T });
    expect(macs.macs).toBe(T * (32 + 32 + 20) + T * T * 8 + T * 5 * T);
  });
});

describe('an unknown (None) time dimension', () => {
  test('per-step MACs stay known, per-sequence MACs are unknown with a note saying why', async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ name: 'emb', inputDim: 30, outputDim: 4 }));
    m.add(tf.layers.conv1d({ name: 'conv', filters: 6, kernelSize: 3, padding: 'same' }));
    m.add(tf.layers.lstm({ name: 'lstm', units: 3 }));
    m.add(tf.layers.dense({ name: 'out', units: 2 }));
    const { macs, stats, layer } = await count(m);
    expect(macs.inputShapes).toEqual([[null]]);
    expect(layer('emb')).toMatchObject({ outputShape: [null, 4], macs: 0 });
    expect(layer('conv')).toMatchObject({ macs: null, macsPerStep: 3 * 4 * 6, note: UNKNOWN_LENGTH_NOTE });
    expect(layer('lstm')).toMatchObject({ macs: null, macsPerStep: 4 * (6 * 3 + 3 * 3), note: UNKNOWN_LENGTH_NOTE, outputShape: [3] });
    // After the LSTM the shapes are fixed again: the Dense is counted.
    expect(layer('out')).toMatchObject({ macs: 6 });
    expect(macs).toMatchObject({ complete: false, unknown: ['conv', 'lstm'], macs: 6 });
    expect(stats.layers.find((l) => l.name === 'lstm')).toMatchObject({ macsPerStep: 108, macsNote: UNKNOWN_LENGTH_NOTE });
  });
});

describe('configs tfjs cannot build (Keras files)', () => {
  test("GRU reset_after: true (Keras 2's default) costs the same matmuls as tfjs's reset_after: false", () => {
    const input = [12, 10];
    const after = layerCost('GRU', { units: 7, reset_after: true, return_sequences: true }, [input]);
    const before = layerCost('GRU', { units: 7, reset_after: false, return_sequences: true }, [input]);
    expect(after).toEqual({ outputShape: [12, 7], macs: 12 * 3 * (10 * 7 + 7 * 7), macsPerStep: 3 * (10 * 7 + 7 * 7) });
    expect(before).toEqual(after);
  });

  test('layers without a rule stay unknown, never 0', () => {
    expect(layerCost('MultiHeadAttention', { num_heads: 2, key_dim: 4 }, [[5, 8]])).toEqual({ outputShape: null, macs: null });
    expect(layerCost('LSTM', { units: 3 }, [[5, null]])).toEqual({ outputShape: null, macs: null });
  });
});
