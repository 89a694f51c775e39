/**
 * `export` with `format: tflite`: a trained MLP as an int8 model.tflite
 * (calibrated on a recipe dataset, float32 I/O) with its sizes in the model
 * card, float32 on request, and the located errors: an unsupported layer
 * (before anything is written) and int8 without calibration data.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModelDir } from '../../../src/engine/model-io.js';
import { readTflite } from '../../../src/formats/tflite/reader.js';
import { TensorType } from '../../../src/formats/tflite/schema.js';
import { StageConfigError } from '../../../src/plugin.js';
import type { ArtifactRef } from '../../../src/plugin.js';
import { exportStage } from '../../../src/stages/export/export.js';
import { inputsOf, trainSmallMlp, upstream } from '../evaluate/evaluate-helpers.js';
import { createHarness } from '../harness.js';
import type { Harness } from '../harness.js';

describe('export format: tflite', () => {
  let h: Harness;
  let trained: ArtifactRef;
  beforeAll(async () => {
    h = await createHarness({ model: { build: { arch: 'mlp', units: [16] } } });
    trained = await trainSmallMlp(h);
  }, 120000);
  afterAll(() => h.cleanup());

  test('int8 with float32 I/O: model.tflite, sizes and ops in the card', async () => {
    const r = await h.run(exportStage, { format: 'tflite', tflite: { calibration: { data: 'train', samples: 32 } } }, inputsOf(upstream('train', 'train', trained)), 'export');
    const out = r.outputs.model!;
    expect((await readdir(out)).sort()).toEqual(['model-card.json', 'model.tflite']);
    const bytes = new Uint8Array(await readFile(join(out, 'model.tflite')));
    const file = readTflite(bytes);
    const sg = file.subgraphs[0]!;
    expect(sg.tensors[sg.inputs[0]!]!.type).toBe(TensorType.FLOAT32);
    expect(file.operatorCodes.map((c) => c.name).sort()).toEqual(['DEQUANTIZE', 'FULLY_CONNECTED', 'QUANTIZE', 'SOFTMAX']);
    const card = JSON.parse(await readFile(join(out, 'model-card.json'), 'utf8'));
    expect(card.format).toBe('tflite');
    expect(card.files).toEqual(['model.tflite']);
    expect(card.tflite).toEqual({ quantize: 'int8', io: 'float32', ops: ['QUANTIZE', 'FULLY_CONNECTED', 'SOFTMAX', 'DEQUANTIZE'] });
    expect(card.sizeBytes.tflite).toBe(bytes.length);
    expect(card.sizeBytes.tflite).toBeLessThan(0.3 * card.sizeBytes.tfliteFloat32);
    expect(card.sizeBytes.tfliteGzip).toBeGreaterThan(0);
  }, 60000);

  test('float32 on request, int8 I/O kept int8', async () => {
    const f = await h.run(exportStage, { format: 'tflite', tflite: { quantize: 'float32' } }, inputsOf(upstream('train', 'train', trained)), 'export-f');
    const ff = readTflite(new Uint8Array(await readFile(join(f.outputs.model!, 'model.tflite'))));
    expect(ff.subgraphs[0]!.tensors.every((t) => t.type === TensorType.FLOAT32)).toBe(true);
    const q = await h.run(exportStage, { format: 'tflite', tflite: { io: 'int8', calibration: { data: 'train', samples: 16 } } }, inputsOf(upstream('train', 'train', trained)), 'export-q');
    const qf = readTflite(new Uint8Array(await readFile(join(q.outputs.model!, 'model.tflite'))));
    const sg = qf.subgraphs[0]!;
    expect([sg.tensors[sg.inputs[0]!]!.type, sg.tensors[sg.outputs[0]!]!.type]).toEqual([TensorType.INT8, TensorType.INT8]);
  }, 60000);

  test('an unsupported layer: located at `format`, nothing written', async () => {
    const tf = await h.engine.tf();
    const model = tf.sequential({ name: 'm', layers: [tf.layers.dense({ units: 4, inputShape: [784], activation: 'tanh', name: 'hidden' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' })] });
    const dir = join(h.dir, 'tanh-model');
    await saveModelDir(model, dir);
    const ref = await h.artifact(dir);
    const run = h.run(exportStage, { format: 'tflite', tflite: { calibration: { data: 'train' } }, to: 'dist/tanh' }, inputsOf(upstream('train', 'train', ref)), 'export-bad');
    await expect(run).rejects.toThrow(StageConfigError);
    await expect(run).rejects.toMatchObject({
      message: "`format: tflite`: layer hidden (Dense): activation 'tanh' is not supported (supported: linear, relu, relu6, softmax)",
      path: ['format'],
    });
    await expect(readdir(join(h.dir, 'dist'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60000);

  test('int8 without calibration data: located at `tflite`', async () => {
    await expect(h.run(exportStage, { format: 'tflite' }, inputsOf(upstream('train', 'train', trained)), 'export-nocal')).rejects.toMatchObject({
      message: '`tflite.calibration` is required for `quantize: int8`',
      path: ['tflite'],
    });
  }, 60000);
});
