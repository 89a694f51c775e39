import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { buildModel } from '../../src/engine/builders.js';
import { saveModelDir } from '../../src/engine/model-io.js';
import { loadTf, type Tf } from '../../src/engine/tf.js';
import { BYTES_PER_KB, kb, measureArtifactSize } from '../../src/measure/size.js';
import { FIXTURES, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
let tf: Tf;

beforeAll(async () => {
  tf = await loadTf('cpu');
});

/** The reference: node:zlib's sync API on each file as read from disk. */
function reference(bytes: Buffer): { raw: number; gzip: number; brotli: number } {
  return {
    raw: bytes.byteLength,
    gzip: gzipSync(bytes, { level: 9 }).byteLength,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength },
    }).byteLength,
  };
}

/** Saves a small MLP (20 -> 16 -> 3: 387 params, 1548 weight bytes) in 512-byte shards, plus files that do not ship. */
async function savedMlp(): Promise<string> {
  const dir = path.join(await tempDir(), 'mlp');
  const model = buildModel(tf, { arch: 'mlp', inputShape: [20], units: [16], classes: 3 }, 7);
  await saveModelDir(model, dir, { shardBytes: 512 });
  model.dispose();
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ lineage: ['x'.repeat(5000)] }));
  await writeFile(path.join(dir, 'notes.txt'), 'not part of the artifact');
  return dir;
}

test('kb() uses 1024-byte KB', () => {
  expect(BYTES_PER_KB).toBe(1024);
  expect(kb(40 * 1024)).toBe(40);
  expect(kb(1536)).toBe(1.5);
});

test('raw, gzip and brotli sizes equal an independent per-file computation, summed', async () => {
  const dir = await savedMlp();
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const shards = json.weightsManifest.flatMap((g) => g.paths);
  expect(shards).toEqual(['group1-shard1of4.bin', 'group1-shard2of4.bin', 'group1-shard3of4.bin', 'group1-shard4of4.bin']);
  expect((await readdir(dir)).sort()).toEqual([...shards, 'meta.json', 'model.json', 'notes.txt'].sort());

  const expected = await Promise.all(['model.json', ...shards].map(async (name) => ({ name, ...reference(await readFile(path.join(dir, name))) })));
  const size = await measureArtifactSize(dir);

  expect(size.dir).toBe(dir);
  expect(size.files.map(({ kind, ...f }) => f)).toEqual(expected);
  expect(size.files.map((f) => f.kind)).toEqual(['model-json', 'weights', 'weights', 'weights', 'weights']);
  const total = (key: 'raw' | 'gzip' | 'brotli', names?: string[]) =>
    expected.filter((e) => !names || names.includes(e.name)).reduce((n, e) => n + e[key], 0);
  expect({ raw: size.raw, gzip: size.gzip, brotli: size.brotli }).toEqual({ raw: total('raw'), gzip: total('gzip'), brotli: total('brotli') });
  expect(size.weights).toEqual({ raw: total('raw', shards), gzip: total('gzip', shards), brotli: total('brotli', shards) });
  expect(size.modelJson).toEqual({ raw: expected[0]!.raw, gzip: expected[0]!.gzip, brotli: expected[0]!.brotli });
  // 387 float32 parameters.
  expect(size.weights.raw).toBe(387 * 4);
  // The path of model.json itself is accepted too.
  expect(await measureArtifactSize(path.join(dir, 'model.json'))).toEqual(size);
});

test('zeros cost raw bytes but compress away: a 90%-zero model ships much smaller', async () => {
  const dense = path.join(await tempDir(), 'dense');
  const sparse = path.join(await tempDir(), 'sparse');
  const model = buildModel(tf, { arch: 'mlp', inputShape: [64], units: [64], classes: 10 }, 3);
  await saveModelDir(model, dense);
  // Zero all but every tenth value: what magnitude pruning to 90% leaves in the stock format.
  model.setWeights(model.getWeights().map((w) => tf.tidy(() => tf.mul(w, tf.tensor(Array.from({ length: w.size }, (_, i) => (i % 10 === 0 ? 1 : 0)), w.shape)))));
  await saveModelDir(model, sparse);
  model.dispose();

  const [a, b] = await Promise.all([measureArtifactSize(dense), measureArtifactSize(sparse)]);
  expect(b.weights.raw).toBe(a.weights.raw);
  expect(b.weights.gzip).toBeLessThan(a.weights.gzip * 0.3);
  expect(b.weights.brotli).toBeLessThan(a.weights.brotli * 0.3);
  // Random float32 weights barely compress (the exponent bytes do, the mantissas do not).
  expect(a.weights.gzip).toBeGreaterThan(a.weights.raw * 0.8);
});

test('the converter fixture (104 weight bytes, one shard)', async () => {
  const size = await measureArtifactSize(path.join(FIXTURES, 'converted-dense'));
  expect(size.files.map((f) => [f.name, f.raw])).toEqual([
    ['model.json', (await readFile(path.join(FIXTURES, 'converted-dense', 'model.json'))).byteLength],
    ['group1-shard1of1.bin', 104],
  ]);
});

test('missing directory, model.json or shard: ModelIOError naming the file', async () => {
  const missing = path.join(await tempDir(), 'nope');
  await expect(measureArtifactSize(missing)).rejects.toMatchObject({
    name: 'ModelIOError',
    message: `${missing}: no such file or directory`,
    file: missing,
  });
  const empty = await tempDir();
  await expect(measureArtifactSize(empty)).rejects.toThrow(`${empty}: no model.json (not a tfjs model directory)`);
  const dir = await savedMlp();
  await rm(path.join(dir, 'group1-shard3of4.bin'));
  await expect(measureArtifactSize(dir)).rejects.toThrow(
    `${path.join(dir, 'group1-shard3of4.bin')}: weight shard missing (listed in ${path.join(dir, 'model.json')})`,
  );
});
