/**
 * `modelpress inspect` on sequence models: Embedding, LSTM, GRU,
 * Bidirectional, Conv1D and attention built from Dense/Dot layers. The
 * numbers must be the measure layer's (hand-checked in
 * test/measure/sequence-macs.test.ts); here: that every layer is there with
 * its params and MACs, the stage checks run, the packed container reads
 * back, and the table shows per-step MACs where the length is unknown.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { renderInspectTable } from '../../src/cli/inspect-table.js';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../src/engine/tf.js';
import { packModel } from '../../src/formats/packed.js';
import { inspectModel } from '../../src/inspect/inspect-model.js';
import type { ModelReport } from '../../src/inspect/model-report.js';
import { useTempDirs } from '../measure/helpers.js';

const tempDir = useTempDirs();
let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('cpu');
});

async function inspect(p: string): Promise<ModelReport> {
  const result = await inspectModel(p, { tf: async () => tf });
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
  return result.value;
}

async function saved(model: LayersModel, name: string): Promise<string> {
  const dir = path.join(await tempDir(), name);
  await saveModelDir(model, dir);
  return dir;
}

/** A text classifier over T tokens: Embedding -> Conv1D -> Bidirectional(LSTM) -> GRU -> Dense. */
function textModel(T: number | null): LayersModel {
  const m = tf.sequential({ name: 'text' });
  m.add(tf.layers.embedding({ name: 'emb', inputDim: 40, outputDim: 6, ...(T === null ? {} : { inputLength: T }) }));
  m.add(tf.layers.conv1d({ name: 'conv', filters: 8, kernelSize: 3, padding: 'same' }));
  m.add(tf.layers.bidirectional({ name: 'bi', layer: tf.layers.lstm({ units: 4, returnSequences: true }) as never }));
  m.add(tf.layers.gru({ name: 'gru', units: 5 }));
  m.add(tf.layers.dense({ name: 'out', units: 3, activation: 'softmax' }));
  return m;
}

function row(r: ModelReport, name: string) {
  const l = r.layers.find((x) => x.name === name)!;
  return { className: l.className, outputShape: l.outputShape, params: l.params, macs: l.macs, macsPerStep: l.macsPerStep ?? null };
}

test('a fixed-length text model: every layer with params, MACs per sequence and per step', async () => {
  const T = 10;
  const r = await inspect(await saved(textModel(T), 'text'));
  expect(r.inputs).toEqual([{ name: 'emb', shape: [T] }]);
  expect(row(r, 'emb')).toEqual({ className: 'Embedding', outputShape: [T, 6], params: 240, macs: 0, macsPerStep: null });
  expect(row(r, 'conv')).toEqual({ className: 'Conv1D', outputShape: [T, 8], params: 3 * 6 * 8 + 8, macs: T * 144, macsPerStep: 144 });
  // Two LSTMs: 4 x (8*4 + 4*4) MACs per step, 4 x (8*4 + 4*4 + 4) params each.
  expect(row(r, 'bi')).toEqual({ className: 'Bidirectional', outputShape: [T, 8], params: 2 * 208, macs: T * 384, macsPerStep: 384 });
  expect(row(r, 'gru')).toEqual({ className: 'GRU', outputShape: [5], params: 3 * (8 * 5 + 5 * 5 + 5), macs: T * 195, macsPerStep: 195 });
  expect(r.summary).toMatchObject({ macs: T * (144 + 384 + 195) + 15, macsComplete: true });
  // The stages' own rules ran on the model tfjs built (no "unknown").
  expect(r.stagesUnknown).toBeUndefined();
  expect(r.layers.find((l) => l.name === 'bi')!.stages['quantize']).toBeDefined();
});

test('unknown length: per-step MACs and the reason, in the report and the table', async () => {
  const r = await inspect(await saved(textModel(null), 'var'));
  expect(r.inputs).toEqual([{ name: 'emb', shape: [null] }]);
  expect(r.layers.find((l) => l.name === 'gru')).toMatchObject({ macs: null, macsPerStep: 195, macsNote: expect.stringContaining('time dimension is unknown') });
  expect(r.summary).toMatchObject({ macs: 15, macsComplete: false });
  const table = renderInspectTable(r);
  expect(table).toMatch(/gru +GRU .*\? \(195\/step\)/);
  expect(table).toContain('time dimension is unknown');
});

test('attention from Dense and Dot layers, and the same model packed', async () => {
  const T = 6;
  const x = tf.input({ shape: [T, 4], name: 'tokens' });
  const q = tf.layers.dense({ name: 'q', units: 8 }).apply(x);
  const k = tf.layers.dense({ name: 'k', units: 8 }).apply(x);
  const scores = tf.layers.dot({ name: 'scores', axes: 2 }).apply([q, k] as never);
  const weights = tf.layers.softmax({ name: 'weights' }).apply(scores);
  const context = tf.layers.dot({ name: 'context', axes: [2, 1] }).apply([weights, x] as never);
  const pooled = tf.layers.globalAveragePooling1d({ name: 'pool' }).apply(context);
  const out = tf.layers.dense({ name: 'out', units: 2 }).apply(pooled);
  const dir = await saved(tf.model({ inputs: x, outputs: out as never, name: 'attention' }), 'attn');
  const r = await inspect(dir);
  expect(row(r, 'scores')).toEqual({ className: 'Dot', outputShape: [T, T], params: 0, macs: T * T * 8, macsPerStep: null });
  expect(row(r, 'context')).toEqual({ className: 'Dot', outputShape: [T, 4], params: 0, macs: T * 4 * T, macsPerStep: null });
  expect(r.layers.find((l) => l.name === 'context')!.inbound).toEqual(['weights', 'tokens']);
  expect(r.summary).toMatchObject({ macs: 2 * T * 32 + T * T * 8 + T * T * 4 + 8, macsComplete: true });

  const file = path.join(await tempDir(), 'attn.mpk');
  await writeFile(file, (await packModel(dir)).bytes);
  const p = await inspect(file);
  expect(p.format).toBe('packed');
  expect(p.layers.map((l) => [l.name, l.params, l.macs])).toEqual(r.layers.map((l) => [l.name, l.params, l.macs]));
});
