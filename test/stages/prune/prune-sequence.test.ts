/**
 * Unstructured pruning on sequence layers (issue 21): Embedding tables,
 * Bidirectional(LSTM) kernels and recurrent kernels of both directions,
 * Conv1D, TimeDistributed(Dense), GRU and SimpleRNN/LSTM recurrent kernels
 * are all pruned to the exact count, the masks hold through Adam fine-tuning
 * on real MNIST-derived sequences, and biases / LayerNormalization stay dense.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { pruneStage } from '../../../src/stages/prune/prune.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { stockLoad } from '../../helpers/functional-model.js';
import { TOKENS, buildRowModel, buildTokenModel, digitsAsTokens, writeNpyDataset } from '../../helpers/sequence-models.js';

const valuesByName = (m: LayersModel) => new Map(m.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
const zeros = (v: Float32Array) => v.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);

describe('prune: sequence layers', () => {
  let h: Harness;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mp-seq-'));
    const tokens = join(dataDir, 'tokens');
    // cpu: Embedding's gradient (UnsortedSegmentSum) has no wasm kernel yet
    // (issue 21 part 1 adds the wasm sequence gradients); masks do not depend on the backend.
    h = await createHarness({
      backend: 'cpu',
      data: {
        rows: { uses: 'mnist', split: 'train', limit: 32 },
        tokens: { uses: 'npy', x: join(tokens, 'train-x.npy'), y: join(tokens, 'train-y.npy'), classes: 10 },
      },
    });
    // The token data set is MNIST read as 49 tokens, written where `tokens` points.
    const digits = await h.ctx().data('rows');
    await writeNpyDataset(tokens, 'train', digitsAsTokens(digits), [TOKENS], digits.y);
  });
  afterAll(async () => {
    await h.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('every kernel, recurrent kernel and embedding table pruned exactly; masks hold through fine-tuning', async () => {
    const tf = await h.engine.tf();
    const model = buildTokenModel(tf);
    const dir = join(h.dir, 'tokens-model');
    await h.engine.saveModel(model, dir);
    const before = valuesByName(model);
    const names = [...before.keys()];
    // The names tfjs gives the wrapped layers' weights (docs/stages.md relies on them).
    expect(names).toEqual(
      expect.arrayContaining([
        'emb/embeddings',
        'bilstm/forward_lstm_LSTM1/kernel', 'bilstm/forward_lstm_LSTM1/recurrent_kernel',
        'bilstm/backward_lstm_LSTM1/kernel', 'bilstm/backward_lstm_LSTM1/recurrent_kernel',
        'conv/kernel', 'td/kernel', 'gru/kernel', 'gru/recurrent_kernel', 'out/kernel', 'norm/gamma', 'norm/beta',
      ]),
    );
    const r = await h.run(pruneStage, { sparsity: 0.5, finetune: { data: 'tokens', epochs: 1, batchSize: 32, learningRate: 0.01 } }, modelInput(await h.artifact(dir)));
    const after = valuesByName(await stockLoad(tf, r.outputs.model!));
    const pruned = names.filter((n) => /\/(kernel|recurrent_kernel|embeddings)$/.test(n));
    expect(pruned).toHaveLength(10);
    for (const name of names) {
      const a = after.get(name)!;
      const b = before.get(name)!;
      if (pruned.includes(name)) {
        // Exactly half, kept zero by the masks through an Adam step at lr 0.01.
        expect([name, zeros(a)]).toEqual([name, Math.round(0.5 * a.length)]);
      } else {
        // Never masked (fine-tuning moves the zero-initialised biases off 0).
        expect([name, zeros(a) <= zeros(b)]).toEqual([name, true]);
      }
      // Fine-tuning moved the weights that were kept.
      let moved = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== 0 && a[i] !== b[i]) moved++;
      expect([name, moved > 0]).toEqual([name, true]);
    }
    const m = r.metrics as Record<string, any>;
    expect(Object.keys(m.layers).sort()).toEqual(['bilstm', 'conv', 'emb', 'gru', 'out', 'td']);
    expect(m.layers.bilstm.weights).toBe(2 * (8 * 24 + 6 * 24));
  });

  test('SimpleRNN and LSTM on MNIST rows: recurrent kernels pruned, `layers:` patterns match layer names', async () => {
    const tf = await h.engine.tf();
    const model = buildRowModel(tf);
    const dir = join(h.dir, 'rows-model');
    await h.engine.saveModel(model, dir);
    const r = await h.run(pruneStage, { sparsity: 0.3, layers: { rnn: { sparsity: 0.6 }, lstm: {} } }, modelInput(await h.artifact(dir)));
    const after = valuesByName(await stockLoad(tf, r.outputs.model!));
    const expected: Record<string, number> = { 'rnn/kernel': 0.6, 'rnn/recurrent_kernel': 0.6, 'lstm/kernel': 0.3, 'lstm/recurrent_kernel': 0.3, 'out/kernel': 0 };
    for (const [name, s] of Object.entries(expected)) {
      const v = after.get(name)!;
      expect([name, zeros(v)]).toEqual([name, Math.round(s * v.length)]);
    }
  });
});
