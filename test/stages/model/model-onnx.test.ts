/**
 * `model: { from: lenet5.onnx }`: the PyTorch LeNet-5 imported by the model
 * stage (checked against ONNX Runtime, a Softmax put on its logits), pruned
 * with fine-tuning on MNIST, and exported as ONNX that matches ONNX Runtime.
 * A broken .onnx is a failure located at the recipe's `from:` that names the
 * ONNX problem. Runs the real CLI (worker threads, cache) on tiny data.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import { REPO_ROOT, node, runRecipe, workspace } from '../../run/helpers.js';
import type { Workspace } from '../../run/helpers.js';
import { readOnnxModel } from '../../../src/formats/onnx/read-model.js';

const LENET = join(REPO_ROOT, 'examples', 'pytorch', 'lenet5.onnx');

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace('unused', []);
  await copyFile(LENET, join(ws.dir, 'lenet5.onnx'));
  const bytes = await readFile(LENET);
  await writeFile(join(ws.dir, 'cut.onnx'), bytes.subarray(0, bytes.length - 1000));
});
afterAll(() => ws.remove());

const data = {
  train: { uses: 'mnist', split: 'train', limit: 256 },
  test: { uses: 'mnist', split: 'test', limit: 500 },
};

describe('model.from an .onnx file', () => {
  test('import -> prune with fine-tuning -> export as ONNX', async () => {
    await writeFile(ws.recipe, stringify({
      version: 1,
      name: 'from-onnx',
      model: { from: './lenet5.onnx' },
      data,
      stages: [
        { id: 'prune', uses: 'prune', with: { sparsity: 0.5, finetune: { data: 'train', epochs: 1, batchSize: 64 } } },
        { id: 'evaluate', uses: 'evaluate', needs: ['model', 'prune'], with: { data: 'test', reference: 'model' } },
        { id: 'export', uses: 'export', needs: ['prune'], with: { format: 'onnx' } },
      ],
    }));
    const r = await runRecipe(ws, 'ok', [], { timeoutMs: 240_000 });
    expect(r.cli.code).toBe(0);
    const source = node(r.record, 'model').metrics as Record<string, unknown>;
    expect(source).toMatchObject({ source: 'from', format: 'onnx', from: 'lenet5.onnx', opset: 13, producer: 'pytorch', softmaxAdded: true, inputShape: [[null, 28, 28, 1]], outputShape: [[null, 10]] });
    const [check] = source.onnxRuntimeCheck as { relDiff: number; argmaxMismatches: number }[];
    expect(check!.relDiff).toBeLessThanOrEqual(1e-4);
    expect(check!.argmaxMismatches).toBe(0);
    const ev = node(r.record, 'evaluate').metrics as { candidates: Record<string, { accuracy: number }> };
    // PyTorch's LeNet-5 on these 500 test images (reference.json has 97.84% on all 10,000).
    expect(ev.candidates.model!.accuracy).toBeGreaterThan(95);
    const exp = node(r.record, 'export');
    expect(exp.metrics).toMatchObject({ files: ['model.onnx'] });
    expect((exp.metrics.onnxRuntimeCheck as { relDiff: number }[])[0]!.relDiff).toBeLessThanOrEqual(1e-4);
    const onnx = readOnnxModel(await readFile(join((exp.outputs.model as { path: string }).path, 'model.onnx')), 'model.onnx');
    expect(onnx.opset).toBe(13);
    expect(onnx.inputs[0]!.dims).toEqual(['batch', 1, 28, 28]);
  });

  test('a truncated .onnx fails the model node, located at `from:`', async () => {
    await writeFile(ws.recipe, stringify({ version: 1, name: 'cut-onnx', model: { from: './cut.onnx' }, data, stages: [{ id: 'export', uses: 'export', with: { format: 'onnx' } }] }));
    const r = await runRecipe(ws, 'cut', [], { timeoutMs: 120_000 });
    expect(r.cli.code).toBe(1);
    expect(node(r.record, 'model').status).toBe('failed');
    expect(r.cli.stdout).toContain([
      'recipe.yaml:4:3: error[stage-config]: stage model: `from`: ./cut.onnx: the file is truncated: a field runs past the end of its message (file size 248268 bytes)',
      '  4 |   from: ./cut.onnx',
      '    |   ^^^^',
      '  = copy or export the .onnx file again and compare its size with the original',
    ].join('\n'));
  });
});
