/**
 * Golden outputs: every built-in stage that computes weights, run on a tiny
 * fixed fixture (an MLP 4-8-3 on 60 rows of a generated CSV, seed 1, one
 * epoch), on the wasm and cpu backends, gives pinned bytes. The cache key
 * holds the code digest of each stage (src/plan/stage-code.ts); these pins
 * are the other half: an edit that changes what a stage computes (one line
 * of arithmetic) fails here, and is then re-pinned on purpose, with the
 * reason in the commit message.
 *
 * Pinned: sha256 of the weight shard bytes (in manifest order) for train,
 * prune, share, quantize and distill; of `model.mpk` for export (packed);
 * evaluate's accuracy and exact sizes. Re-pin by running this file and
 * copying the "Received" values, only when the change is meant.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName } from '../../src/engine/backend.js';
import type { ArtifactRef, Json } from '../../src/plugin.js';
import { distillStage } from '../../src/stages/distill/distill.js';
import { evaluateStage } from '../../src/stages/evaluate/evaluate.js';
import { exportStage } from '../../src/stages/export/export.js';
import { pruneStage } from '../../src/stages/prune/prune.js';
import { quantizeStage } from '../../src/stages/quantize/quantize.js';
import { shareStage } from '../../src/stages/share/share.js';
import { trainStage } from '../../src/stages/train/train.js';
import { inputsOf, runWithDevices, upstream } from './evaluate/evaluate-helpers.js';
import { createHarness, modelInput } from './harness.js';
import type { Harness } from './harness.js';

/**
 * A 3-class problem on 4 features, generated (no randomness): the label is
 * the largest of three fixed combinations of the features, so it is
 * learnable and every class occurs.
 */
function fixtureCsv(rows: number, offset: number): string {
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < rows; i++) {
    const x = [0, 1, 2, 3].map((j) => Math.round(Math.sin((i + offset) * 0.7 + j * 1.3) * 1000) / 1000);
    const scores = [x[0]! + x[1]!, x[2]! - x[0]!, x[3]! - x[1]!];
    lines.push(`${x.join(',')},${scores.indexOf(Math.max(...scores))}`);
  }
  return `${lines.join('\n')}\n`;
}

const DATA: Record<string, Json> = { train: { uses: 'csv', file: 'train.csv' }, test: { uses: 'csv', file: 'test.csv' } };
const MODEL: Json = { build: { arch: 'mlp', units: [8], inputShape: [4], classes: 3 } };

/** sha256 of a model directory's weight shards, concatenated in manifest order. */
async function weightsDigest(dir: string): Promise<string> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const hash = createHash('sha256');
  for (const group of json.weightsManifest) for (const p of group.paths) hash.update(await readFile(join(dir, p)));
  return hash.digest('hex').slice(0, 16);
}

async function fileDigest(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
}

interface Golden {
  train: string;
  prune: string;
  share: string;
  quantize: string;
  distill: string;
  exportPacked: string;
  evaluate: { accuracy: number; sizeBytes: { raw: number; gzip: number; brotli: number; packed: number }; nonZeros: number };
}

/** The pins. wasm and cpu are pinned separately: their float arithmetic may differ. */
const GOLDEN: Record<'wasm' | 'cpu', Golden> = {
  wasm: {
    train: '4c57de47a3085bbc',
    prune: '1e383d3d1d898075',
    share: 'c5ac6b2bd3ad3c33',
    quantize: '2d921d0d8559213d',
    distill: 'b56949fbc4f93d9f',
    exportPacked: '8cb896d0fd8ec403',
    evaluate: { accuracy: 80, sizeBytes: { raw: 1698, gzip: 700, brotli: 650, packed: 647 }, nonZeros: 39 },
  },
  // The last bits of float32 training differ from wasm's (XNNPACK); uint8 quantization rounds them away.
  cpu: {
    train: '87a447b72239ad5b',
    prune: 'df2c93ebaddb2e72',
    share: 'a8d67939dee07d41',
    quantize: '2d921d0d8559213d',
    distill: '79454382dbeae9a8',
    exportPacked: '7edf17ae0f71c710',
    evaluate: { accuracy: 80, sizeBytes: { raw: 1698, gzip: 700, brotli: 650, packed: 647 }, nonZeros: 39 },
  },
};

describe.each<['wasm' | 'cpu']>([['wasm'], ['cpu']])('golden stage outputs on %s', (backend) => {
  let h: Harness;
  let trained: ArtifactRef;
  let pruned: ArtifactRef;
  const pins = GOLDEN[backend];

  beforeAll(async () => {
    h = await createHarness({ backend: backend as BackendName, seed: 1, data: DATA, model: MODEL });
    await writeFile(join(h.dir, 'train.csv'), fixtureCsv(60, 0));
    await writeFile(join(h.dir, 'test.csv'), fixtureCsv(30, 1000));
    const r = await h.run(trainStage, { data: 'train', epochs: 1, batchSize: 8, learningRate: 0.05 });
    trained = await h.artifact(r.outputs.model!);
  });
  afterAll(() => h.cleanup());

  test('train', async () => {
    expect(await weightsDigest(trained.dir)).toBe(pins.train);
  });

  test('prune (magnitude, with one fine-tuning epoch)', async () => {
    const r = await h.run(pruneStage, { sparsity: 0.5, finetune: { data: 'train', epochs: 1, batchSize: 8 } }, modelInput(trained));
    pruned = await h.artifact(r.outputs.model!);
    expect(await weightsDigest(pruned.dir)).toBe(pins.prune);
  });

  test('share (k-means, 2 bits)', async () => {
    const r = await h.run(shareStage, { bits: 2 }, modelInput(trained));
    expect(await weightsDigest(r.outputs.model!)).toBe(pins.share);
  });

  test('quantize (uint8, every tensor)', async () => {
    const r = await h.run(quantizeStage, { weights: 'uint8', minSize: 0 }, modelInput(trained));
    expect(await weightsDigest(r.outputs.model!)).toBe(pins.quantize);
  });

  test('distill (a 4-unit student from the trained teacher)', async () => {
    const r = await h.run(
      distillStage,
      { teacher: 'teach', student: { build: { arch: 'mlp', units: [4], inputShape: [4], classes: 3 } }, data: 'train', epochs: 1, batchSize: 8, learningRate: 0.05 },
      inputsOf(upstream('teach', 'teach', trained)),
    );
    expect(await weightsDigest(r.outputs.model!)).toBe(pins.distill);
  });

  test('export (packed, of the pruned model)', async () => {
    const r = await h.run(exportStage, { format: 'packed' }, modelInput(pruned));
    expect(await fileDigest(join(r.outputs.model!, 'model.mpk'))).toBe(pins.exportPacked);
  });

  test('evaluate (accuracy and sizes of the pruned model)', async () => {
    const r = await runWithDevices(h, evaluateStage, { data: 'test', latency: { measure: 'never' } }, inputsOf(upstream('prune', 'prune', pruned)), {
      box: { runtime: backend, budget: { size_kb: 100 } },
    });
    const c = (r.metrics as { candidates: Record<string, Record<string, Json>> }).candidates['prune']!;
    expect({ accuracy: c.accuracy, sizeBytes: c.sizeBytes, nonZeros: c.nonZeros }).toEqual(pins.evaluate);
  });
});
