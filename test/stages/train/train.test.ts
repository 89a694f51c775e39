/**
 * The train stage end to end through the real CLI and worker threads, on a
 * small slice of the real MNIST: it learns, it is deterministic for a fixed
 * seed (same weights digest from two empty caches), and it writes a model
 * stock tfjs can load.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../cli/run-cli.js';

const recipe = (epochs: number, extra = '') => `version: 1
name: train-test
seed: 7
model: { build: { arch: mlp, units: [32], dropout: 0.1 } }
data:
  train: { uses: mnist, split: train, limit: 2000, flatten: true }
  test: { uses: mnist, split: test, limit: 500, flatten: true }
stages:
  - id: train
    uses: train
    with: { data: train, eval: test, epochs: ${epochs}, batchSize: 64, learningRate: 0.005, validation: { split: 0.1 }${extra} }
`;

interface RunJson {
  status: string;
  versions: { backend: string };
  nodes: { id: string; status: string; metrics: Record<string, any>; outputs: Record<string, { path: string; digest: string }> }[];
}

/** The train node (the recipe's `model:` is node `model`, before it). */
function trainOf(r: RunJson): RunJson['nodes'][number] {
  return r.nodes.find((n) => n.id === 'train')!;
}

describe('train stage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-train-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function run(name: string, text: string, cache: string): Promise<RunJson> {
    await writeFile(join(dir, `${name}.yaml`), text);
    const r = await runCli(['run', `${name}.yaml`, '--out', join(dir, `out-${name}-${cache}`), '--cache-dir', join(dir, cache), '--backend', 'wasm'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(await readFile(join(dir, `out-${name}-${cache}`, 'run.json'), 'utf8')) as RunJson;
  }

  test('learns MNIST, and the same seed gives the same weights digest from an empty cache', async () => {
    const a = await run('r', recipe(3), 'cache-a');
    const b = await run('r', recipe(3), 'cache-b');
    const [na, nb] = [trainOf(a), trainOf(b)];
    expect(na.status).toBe('ran');
    expect(nb.status).toBe('ran');
    expect(a.versions.backend).toBe('wasm');
    // 2,000 training images, 3 epochs: far above chance (10%).
    expect(na.metrics.accuracy).toBeGreaterThan(80);
    expect(na.metrics.history).toHaveLength(3);
    expect(na.metrics.history[2].loss).toBeLessThan(na.metrics.history[0].loss);
    expect(typeof na.metrics.val_acc).toBe('number');
    expect(nb.outputs.model!.digest).toBe(na.outputs.model!.digest);
    // The artifact is a standard tfjs LayersModel directory plus meta.json.
    const modelJson = JSON.parse(await readFile(join(na.outputs.model!.path, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    const meta = JSON.parse(await readFile(join(na.outputs.model!.path, 'meta.json'), 'utf8'));
    expect(meta.metrics.accuracy).toBe(na.metrics.accuracy);
    expect(meta.metrics.trainMs).toBeUndefined();
  });

  test('a different seed gives different weights', async () => {
    // Both seeds computed here, from empty caches: this test must not depend on
    // what an earlier test left in a cache (it failed when run alone).
    const a = await run('seed', recipe(1).replace('seed: 7', 'seed: 8'), 'cache-c');
    const base = await run('seed7', recipe(1), 'cache-c7');
    expect([trainOf(a).status, trainOf(base).status]).toEqual(['ran', 'ran']);
    expect(trainOf(a).outputs.model!.digest).not.toBe(trainOf(base).outputs.model!.digest);
  });

  test('early stopping keeps the best epoch', async () => {
    // A learning rate far too high makes validation loss rise: patience 1 stops early.
    const es = await run('es', recipe(6, ', earlyStopping: { patience: 1, monitor: val_acc }').replace('learningRate: 0.005', 'learningRate: 0.5'), 'cache-d');
    const m = trainOf(es).metrics;
    expect(m.epochs).toBeLessThan(6);
    expect(m.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(m.bestEpoch).toBeLessThan(m.epochs);
  });

  test('augment.shift trains on jittered images: reproducible, different weights, still learns; a non-image dataset is a located error', async () => {
    // Cached when the first test ran before this one, computed otherwise: either way the plain 3-epoch model.
    const plain = await run('r', recipe(3), 'cache-a');
    const a = await run('aug', recipe(3, ', augment: { shift: 2 }'), 'cache-e');
    const b = await run('aug', recipe(3, ', augment: { shift: 2 }'), 'cache-f');
    expect(trainOf(a).outputs.model!.digest).toBe(trainOf(b).outputs.model!.digest);
    expect(trainOf(a).outputs.model!.digest).not.toBe(trainOf(plain).outputs.model!.digest);
    expect(trainOf(a).metrics.accuracy).toBeGreaterThan(70);
    // A table of 3 features is not an image: refused at the option, before any training.
    await writeFile(join(dir, 'table.csv'), 'a,b,c,label\n' + Array.from({ length: 40 }, (_, i) => `${i % 3},${i % 5},${i % 7},${i % 2}`).join('\n') + '\n');
    await writeFile(
      join(dir, 'bad.yaml'),
      `version: 1\nname: bad\nmodel: { build: { arch: mlp, units: [4], inputShape: [3], classes: 2 } }\ndata:\n  train: { uses: csv, file: table.csv }\nstages:\n  - id: train\n    uses: train\n    with: { epochs: 1, augment: { shift: 2 } }\n`,
    );
    const bad = await runCli(['run', 'bad.yaml', '--out', join(dir, 'out-bad'), '--cache-dir', join(dir, 'cache-g'), '--backend', 'wasm'], { cwd: dir, timeoutMs: 120_000 });
    expect(bad.code).not.toBe(0);
    // Run-time stage failures are part of the run's report on stdout.
    expect(bad.stdout).toMatch(/bad\.yaml:9:35: error\[stage-config\]: stage train: augment\.shift needs image examples .* `train` has examples shaped \[3\]/);
    expect(bad.stdout + bad.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);

  test('early stopping with nothing held out is a located error before any training', async () => {
    await writeFile(
      join(dir, 'nostop.yaml'),
      `version: 1\nname: nostop\nmodel: { build: { arch: mlp, units: [8] } }\ndata:\n  train: { uses: mnist, split: train, limit: 200, flatten: true }\nstages:\n  - id: train\n    uses: train\n    with:\n      epochs: 2\n      earlyStopping: { patience: 2 }\n`,
    );
    const r = await runCli(['run', 'nostop.yaml', '--out', join(dir, 'out-nostop'), '--cache-dir', join(dir, 'cache-h'), '--backend', 'wasm'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/nostop\.yaml:11:7: error\[stage-config\]: stage train: earlyStopping needs held-out data to watch, and this stage has none/);
    expect(r.stdout).toContain('validation: { split: 0.1 }');
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  test('build: trains a fresh model of its own architecture instead of the recipe model', async () => {
    const r = await run('built', recipe(1, ', build: { arch: mlp, units: [16] }'), 'cache-h');
    const node = trainOf(r);
    expect(node.status).toBe('ran');
    const modelJson = JSON.parse(await readFile(join(node.outputs.model!.path, 'model.json'), 'utf8'));
    const dense = modelJson.weightsManifest[0].weights.filter((w: { name: string }) => /kernel/.test(w.name));
    expect(dense.map((w: { shape: number[] }) => w.shape)).toEqual([[784, 16], [16, 10]]); // not the recipe's [32]
    expect(node.metrics.accuracy).toBeGreaterThan(50);
  });
});
