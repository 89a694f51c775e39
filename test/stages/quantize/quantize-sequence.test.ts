/**
 * The quantize stage on sequence layers (issue 21): recurrent kernels of a
 * Bidirectional(LSTM) and a GRU stored uint8 in the stock manifest, the
 * Embedding table per row by default; stock tfjs loads the directory, and
 * the packed export (format v3) loads through modelpress/loader to the very
 * same outputs.
 */
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { packModel } from '../../../src/formats/packed.js';
import { packedIOHandler, readPacked } from '../../../src/loader/index.js';
import { quantizeStage } from '../../../src/stages/quantize/quantize.js';
import { createHarness, modelInput } from '../harness.js';
import type { Harness } from '../harness.js';
import { maxRelDiff, stockLoad } from '../../helpers/functional-model.js';
import { TOKENS, VOCAB, buildTokenModel } from '../../helpers/sequence-models.js';

describe('quantize: sequence layers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.cleanup());

  const predict = (tf: Awaited<ReturnType<Harness['engine']['tf']>>, m: LayersModel) =>
    tf.tidy(() => (m.predict(tf.tensor2d(Array.from({ length: 8 * TOKENS }, (_, i) => (i * 7) % VOCAB), [8, TOKENS])) as Tensor).dataSync() as Float32Array);

  test('recurrent kernels uint8, embeddings per row; stock load and packed load agree', async () => {
    const tf = await h.engine.tf();
    const model = buildTokenModel(tf);
    const src = join(h.dir, 'tokens-model');
    await h.engine.saveModel(model, src);
    const r = await h.run(quantizeStage, { minSize: 64, embeddings: 'per-row' }, modelInput(await h.artifact(src)));
    const m = r.metrics as Record<string, any>;
    expect(m.layers.emb.tensors['emb/embeddings'].stored).toBe('uint8 per row');
    for (const name of ['bilstm/forward_lstm_LSTM1/recurrent_kernel', 'bilstm/backward_lstm_LSTM1/kernel', 'gru/recurrent_kernel', 'conv/kernel', 'td/kernel']) {
      const layer = name.slice(0, name.indexOf('/'));
      expect([name, m.layers[layer].tensors[name].stored]).toEqual([name, 'uint8']);
    }
    const stock = await stockLoad(tf, r.outputs.model!);
    const fromDir = predict(tf, stock);
    expect(maxRelDiff(fromDir, predict(tf, model))).toBeLessThan(0.05);

    const packed = await packModel(r.outputs.model!);
    expect(packed.bytes[3]).toBe(3);
    const emb = readPacked(packed.bytes).tensors.find((t) => t.name === 'emb/embeddings')!;
    expect(emb.rowScale).toHaveLength(VOCAB);
    const line = packed.breakdown.tensors.find((t) => t.name === 'emb/embeddings')!;
    expect(line.bytes).toBeLessThan(VOCAB * 8 * 4);
    const loaded = await tf.loadLayersModel(packedIOHandler(packed.bytes));
    expect(Array.from(predict(tf, loaded))).toEqual(Array.from(fromDir));
  });

  test('by default (`per-tensor`) the table is stored in the stock manifest as uint8', async () => {
    const tf = await h.engine.tf();
    const src = join(h.dir, 'tokens-model-2');
    await h.engine.saveModel(buildTokenModel(tf), src);
    const r = await h.run(quantizeStage, { minSize: 64 }, modelInput(await h.artifact(src)));
    expect((r.metrics as any).layers.emb.tensors['emb/embeddings'].stored).toBe('uint8');
    expect((await packModel(r.outputs.model!)).bytes[3]).toBe(2);
  });
});
