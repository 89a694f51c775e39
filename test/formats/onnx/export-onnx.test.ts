/**
 * .onnx export: the exported file loads in ONNX Runtime and gives the tfjs
 * model's outputs (same tolerance as the import), for models imported from
 * PyTorch (a round trip) and for models modelpress builds itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { buildModel } from '../../../src/engine/builders.js';
import { loadTf } from '../../../src/engine/tf.js';
import type { Tf } from '../../../src/engine/tf.js';
import { compareExportWithOnnxRuntime } from '../../../src/formats/onnx/compare-runtimes.js';
import { exportOnnx } from '../../../src/formats/onnx/export-onnx.js';
import { importOnnxBytes } from '../../../src/formats/onnx/import-onnx.js';
import { OnnxError } from '../../../src/formats/onnx/onnx-error.js';
import { readOnnxModel } from '../../../src/formats/onnx/read-model.js';
import { writeOnnxModel } from '../../../src/formats/onnx/write-model.js';
import { graph, weights } from './onnx-helpers.js';

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf('wasm');
});

describe('ONNX export', () => {
  test.each(['lenet5', 'mobilenet-mini'])('%s: PyTorch -> tfjs -> ONNX matches ONNX Runtime, opset 13', async (name) => {
    const bytes = readFileSync(join(process.cwd(), 'examples', 'pytorch', `${name}.onnx`));
    const { model } = importOnnxBytes(tf, bytes, `${name}.onnx`);
    const exported = exportOnnx(model);
    expect(readOnnxModel(exported, 'export.onnx').opset).toBe(13);
    const [c] = await compareExportWithOnnxRuntime(tf, model, exported, { seed: 5, batch: 3 });
    expect(c!.relDiff).toBeLessThanOrEqual(1e-4);
    expect(c!.ok).toBe(true);
    model.dispose();
  });

  test.each([
    ['mlp', { arch: 'mlp', units: [8], inputShape: [6], classes: 3 }],
    ['lenet5', { arch: 'lenet5' }],
  ])('a modelpress-built %s (same padding, fused activations) matches ONNX Runtime', async (_name, spec) => {
    const model = await buildModel(tf, spec as never, 1);
    const [c] = await compareExportWithOnnxRuntime(tf, model, exportOnnx(model), { seed: 2 });
    expect(c!.ok).toBe(true);
    model.dispose();
  });

  test('stride-2 same padding, depthwise, pools and a residual add round-trip', async () => {
    const spec = graph([1, 3, 9, 9], [1, 6, 2, 2], [
      { opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } } },
      { opType: 'Relu', inputs: ['c'], outputs: ['r'] },
      { opType: 'Conv', inputs: ['r', 'dw'], outputs: ['d'], attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, group: { int: 6 } } },
      { opType: 'Add', inputs: ['d', 'r'], outputs: ['a'] },
      { opType: 'MaxPool', inputs: ['a'], outputs: ['y'], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } },
    ], [weights('w', [6, 3, 3, 3]), weights('b', [6]), weights('dw', [6, 1, 3, 3])]);
    const { model } = importOnnxBytes(tf, writeOnnxModel(spec), 'case.onnx');
    const [c] = await compareExportWithOnnxRuntime(tf, model, exportOnnx(model));
    expect(c!.ok).toBe(true);
    model.dispose();
  });

  test('a model imported with inputLayout nchw exports without its Permute (the ONNX graph is NCHW already)', async () => {
    const bytes = readFileSync(join(process.cwd(), 'examples', 'pytorch', 'lenet5.onnx'));
    const { model } = importOnnxBytes(tf, bytes, 'lenet5.onnx', { inputLayout: 'nchw' });
    const exported = exportOnnx(model);
    expect(readOnnxModel(exported, 'export.onnx').inputs[0]!.dims).toEqual(['batch', 1, 28, 28]);
    const [c] = await compareExportWithOnnxRuntime(tf, model, exported);
    expect(c!.ok).toBe(true);
    model.dispose();
  });

  test('a layer with no ONNX mapping is refused by name', () => {
    const input = tf.input({ shape: [4] });
    const out = tf.layers.elu({ name: 'my_elu' }).apply(input) as never;
    const model = tf.model({ inputs: input, outputs: out });
    let err: unknown;
    try {
      exportOnnx(model, 'out.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as OnnxError).message).toBe('out.onnx: layer "my_elu" (ELU): no ONNX mapping for this layer class');
  });
});
