/**
 * The recipe's `model:` is a source node: every stage can start the pipeline
 * from it, and evaluate can name it as its reference. The model is one
 * modelpress did not build: tfjs-converter output of a Keras model, with
 * uint8/uint16/float16-quantized weights (test/fixtures/models/quantized-dense).
 * Runs the real CLI (worker threads, cache) on a tiny CSV.
 */
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import { REPO_ROOT, node, runRecipe, workspace } from '../../run/helpers.js';
import type { Workspace } from '../../run/helpers.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'models', 'quantized-dense');

/** 3 features, 2 classes; label: x0 + x1 > x2 (a rule the fixture's weights were not fitted to). */
function csv(rows: number, offset: number): string {
  const lines = ['x0,x1,x2,label'];
  for (let i = 0; i < rows; i++) {
    const x = [((i * 7 + offset) % 11) / 10, ((i * 5 + offset) % 13) / 12, ((i * 3 + offset) % 7) / 6];
    lines.push(`${x.map((v) => v.toFixed(3)).join(',')},${x[0]! + x[1]! > x[2]! ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace('unused', []);
  await cp(FIXTURE, join(ws.dir, 'user-model'), { recursive: true });
  await writeFile(join(ws.dir, 'train.csv'), csv(64, 0));
  await writeFile(join(ws.dir, 'test.csv'), csv(32, 3));
});
afterAll(() => ws.remove());

const data = {
  train: { uses: 'csv', file: 'train.csv', label: 'label' },
  test: { uses: 'csv', file: 'test.csv', label: 'label' },
};

describe('model.from: any stage starts the pipeline', () => {
  test('quantize, prune, share, distill, export and evaluate each take the recipe model as their first input', async () => {
    await writeFile(
      ws.recipe,
      stringify({
        version: 1,
        name: 'from-model',
        model: { from: './user-model' },
        data,
        stages: [
          { id: 'quantize', uses: 'quantize', with: { weights: 'uint8' } },
          { id: 'prune', uses: 'prune', needs: ['model'], with: { sparsity: 0.5, finetune: { data: 'train', epochs: 1, batchSize: 16 } } },
          { id: 'share', uses: 'share', needs: ['model'], with: { bits: 2 } },
          { id: 'distill', uses: 'distill', needs: ['model'], with: { teacher: 'model', student: { build: { arch: 'mlp', units: [3], inputShape: [3], classes: 2 } }, epochs: 1, batchSize: 16 } },
          { id: 'export', uses: 'export', needs: ['model'], with: { format: 'tfjs' } },
          { id: 'evaluate', uses: 'evaluate', needs: ['model', 'quantize', 'prune', 'share'], with: { data: 'test', reference: 'model' } },
        ],
      }),
    );
    const r = await runRecipe(ws, 'all', [], { timeoutMs: 240_000 });
    expect(r.cli.stderr).toBe('');
    expect(r.cli.code).toBe(0);
    expect(r.record.nodes.map((n) => [n.id, n.status, n.inputs])).toEqual([
      ['model', 'ran', []],
      // The first stage listed, with no `needs:`, starts from the recipe's model.
      ['quantize', 'ran', ['model']],
      ['prune', 'ran', ['model']],
      ['share', 'ran', ['model']],
      ['distill', 'ran', ['model']],
      ['export', 'ran', ['model']],
      ['evaluate', 'ran', ['model', 'quantize', 'prune', 'share']],
    ]);

    // The source node holds the user's files byte for byte (quantized weights stay quantized).
    const source = node(r.record, 'model');
    expect(source.metrics).toMatchObject({ source: 'from', from: 'user-model', layers: 3, params: 26, inputShape: [[null, 3]], outputShape: [[null, 2]] });
    const sourceDir = (source.outputs.model as { path: string }).path;
    expect((await readdir(sourceDir)).filter((f) => f !== 'meta.json').sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    for (const f of ['group1-shard1of1.bin', 'model.json']) {
      expect(await readFile(join(sourceDir, f))).toEqual(await readFile(join(FIXTURE, f)));
    }

    // Each stage worked on that model.
    expect(node(r.record, 'prune').metrics).toMatchObject({ sparsity: expect.any(Number) });
    expect(node(r.record, 'prune').metrics.sparsity as number).toBeGreaterThanOrEqual(0.49);
    const kmeansLayers = node(r.record, 'share').metrics.layers as Record<string, { clusters?: number }>;
    expect(Object.keys(kmeansLayers).sort()).toEqual(['dense', 'dense_1']);
    expect(node(r.record, 'distill').metrics).toMatchObject({ epochs: 1 });
    expect(node(r.record, 'export').metrics).toMatchObject({ source: 'model', files: ['model.json', 'group1-shard1of1.bin'], params: 26 });

    // Evaluate judged three candidates against the original as its reference.
    const m = node(r.record, 'evaluate').metrics as { reference: string; candidates: Record<string, { reference: boolean; judged: boolean; params: number; sizeBytes: { raw: number } }> };
    expect(m.reference).toBe('model');
    expect(Object.keys(m.candidates).sort()).toEqual(['model', 'prune', 'quantize', 'share']);
    expect(m.candidates.model).toMatchObject({ reference: true, judged: false, params: 26 });
    // The reference's size is the user's files: 40 bytes of quantized weights + model.json.
    const userBytes = (await readFile(join(FIXTURE, 'model.json'))).length + 40;
    expect(m.candidates.model!.sizeBytes.raw).toBe(userBytes);
  });
});
