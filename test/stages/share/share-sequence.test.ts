/**
 * The share stage on sequence layers (issue 21): Embedding tables, both
 * directions of a Bidirectional(LSTM), GRU and Conv1D kernels clustered per
 * tensor; centroid fine-tuning of an LSTM on MNIST rows keeps every
 * recurrent kernel on its codebook, and of an Embedding table on cpu.
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { shareStage } from '../../../src/stages/share/share.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { stockLoad } from '../../helpers/functional-model.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { TOKENS, VOCAB, buildRowModel, buildTokenModel, digitsAsTokens, writeNpyDataset } from '../../helpers/sequence-models.js';

const distinct = (m: LayersModel, name: string) => new Set(Array.from(m.weights.find((w) => w.originalName === name)!.read().dataSync())).size;

describe('share: sequence layers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ data: { rows: { uses: 'mnist', split: 'train', limit: 64 } } });
  });
  afterAll(() => h.cleanup());

  test('bits: 2 -> at most 4 values in each embedding table, kernel and recurrent kernel; metrics per direction', async () => {
    const tf = await h.engine.tf();
    const src = join(h.dir, 'tokens');
    await h.engine.saveModel(buildTokenModel(tf), src);
    const r = await h.run(shareStage, { bits: 2 }, modelInput(await h.artifact(src)));
    const m = r.metrics as Record<string, any>;
    const out = await stockLoad(tf, r.outputs.model!);
    const names = ['emb/embeddings', 'bilstm/forward_lstm_LSTM1/kernel', 'bilstm/forward_lstm_LSTM1/recurrent_kernel', 'bilstm/backward_lstm_LSTM1/kernel',
      'bilstm/backward_lstm_LSTM1/recurrent_kernel', 'conv/kernel', 'td/kernel', 'gru/kernel', 'gru/recurrent_kernel', 'out/kernel'];
    for (const name of names) expect([name, distinct(out, name) <= 4]).toEqual([name, true]);
    expect(Object.keys(m.layers.bilstm).sort()).toEqual(['backward_lstm_LSTM1/kernel', 'backward_lstm_LSTM1/recurrent_kernel', 'forward_lstm_LSTM1/kernel', 'forward_lstm_LSTM1/recurrent_kernel']);
    expect(m.layers.emb.embeddings).toBeDefined();
    // LayerNormalization is not clustered.
    expect(distinct(out, 'norm/gamma')).toBe(1);
    expect(m.layers.norm).toBeUndefined();
  });

  test('fine-tuning the centroids keeps SimpleRNN and LSTM recurrent kernels on their codebooks', async () => {
    const tf = await h.engine.tf();
    const src = join(h.dir, 'rows');
    await h.engine.saveModel(buildRowModel(tf, 5, [8, 8]), src);
    const r = await h.run(shareStage, { bits: 3, finetune: { data: 'rows', epochs: 1, batchSize: 32, learningRate: 0.01 } }, modelInput(await h.artifact(src)));
    const out = await stockLoad(tf, r.outputs.model!);
    for (const name of ['rnn/kernel', 'rnn/recurrent_kernel', 'lstm/kernel', 'lstm/recurrent_kernel']) expect([name, distinct(out, name) <= 8]).toEqual([name, true]);
    expect((r.metrics as any).finetune.steps).toBe(2);
  });

  test('fine-tuning keeps an embedding table on its codebook (cpu: no wasm gradient for Embedding yet)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mp-seq-share-'));
    const digits = await h.ctx().data('rows');
    const tokens = await writeNpyDataset(dataDir, 'train', digitsAsTokens(digits), [TOKENS], digits.y);
    const cpu = await createHarness({ backend: 'cpu', data: { tokens } });
    try {
      const tf = await cpu.engine.tf();
      const L = tf.layers;
      const model = tf.sequential({
        layers: [
          L.embedding({ name: 'emb', inputDim: VOCAB, outputDim: 8, inputLength: TOKENS, embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }) }),
          L.globalAveragePooling1d({ name: 'pool' }),
          L.dense({ name: 'out', units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
        ],
      });
      const src = join(cpu.dir, 'emb');
      await cpu.engine.saveModel(model, src);
      const before = Array.from(model.getLayer('emb').getWeights()[0]!.dataSync());
      const r = await cpu.run(shareStage, { bits: 2, finetune: { data: 'tokens', epochs: 1, batchSize: 32, learningRate: 0.05 } }, modelInput(await cpu.artifact(src)));
      const out = await stockLoad(tf, r.outputs.model!);
      const after = Array.from(out.getLayer('emb').getWeights()[0]!.dataSync());
      expect(new Set(after).size).toBeLessThanOrEqual(4);
      // The centroids moved (fine-tuning did something), not just the k-means snap.
      const snapped = await cpu.run(shareStage, { bits: 2 }, modelInput(await cpu.artifact(src)));
      const centroids = new Set(Array.from((await stockLoad(tf, snapped.outputs.model!)).getLayer('emb').getWeights()[0]!.dataSync()));
      expect([...new Set(after)].some((v) => !centroids.has(v))).toBe(true);
      expect(new Set(before).size).toBeGreaterThan(4);
    } finally {
      await cpu.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
