import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheStore, digestDirectory } from '../../src/cache/index.js';
import type { PlanGraph } from '../../src/plan/graph.js';
import { explainKeyChange, keyOf, keyRecord } from '../../src/plan/key-record.js';
import type { KeyContext, KeyRecord } from '../../src/plan/key-record.js';
import { predict } from '../../src/plan/predict.js';
import type { Prediction } from '../../src/plan/predict.js';
import { HEAD, graphOf as loadGraph, useTempDirs, writeFiles } from './helpers.js';

const tempDir = useTempDirs();

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const CODE = `sha256:${'c'.repeat(64)}`;
const TFJS = { core: '4.22.0', backend: '@tensorflow/tfjs-backend-wasm@4.22.0' };
const stage = (over: Partial<KeyRecord['stage']> = {}): KeyRecord['stage'] => ({ name: 'prune', version: '1', code: CODE, files: 3, ...over });

function record(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    modelpress: '0.1.0',
    stage: stage(),
    tfjs: TFJS,
    config: { sparsity: 0.9, method: 'magnitude' },
    inputs: [{ outputs: { model: DIGEST_A } }],
    data: { train: { uses: 'mnist', split: 'train' } },
    seed: 0,
    backend: 'wasm',
    ...over,
  };
}

describe('keyOf', () => {
  test('is a sha256 hex key that does not depend on key order', () => {
    const a = record();
    const b: KeyRecord = {
      backend: 'wasm',
      seed: 0,
      data: { train: { split: 'train', uses: 'mnist' } },
      inputs: [{ outputs: { model: DIGEST_A } }],
      config: { method: 'magnitude', sparsity: 0.9 },
      tfjs: { backend: '@tensorflow/tfjs-backend-wasm@4.22.0', core: '4.22.0' },
      stage: { files: 3, code: CODE, version: '1', name: 'prune' },
      modelpress: '0.1.0',
    };
    expect(keyOf(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyOf(b)).toBe(keyOf(a));
    expect(keyOf(JSON.parse(JSON.stringify(a)) as KeyRecord)).toBe(keyOf(a));
  });

  test.each<[string, Partial<KeyRecord>]>([
    ['config', { config: { sparsity: 0.8, method: 'magnitude' } }],
    ['stage version', { stage: stage({ version: '2' }) }],
    ['stage code', { stage: stage({ code: DIGEST_B }) }],
    ['tfjs-core version', { tfjs: { ...TFJS, core: '4.23.0' } }],
    ['backend package version', { tfjs: { ...TFJS, backend: '@tensorflow/tfjs-backend-wasm@4.23.0' } }],
    ['input digest', { inputs: [{ outputs: { model: DIGEST_B } }] }],
    ['input order', { inputs: [{ outputs: { model: DIGEST_B } }, { outputs: { model: DIGEST_A } }] }],
    ['seed', { seed: 1 }],
    ['backend', { backend: 'cpu' }],
    ['modelpress version', { modelpress: '0.2.0' }],
    ['model', { model: { build: { arch: 'mlp' } } }],
  ])('changes with %s', (_name, over) => {
    expect(keyOf(record(over))).not.toBe(keyOf(record()));
  });
});

describe('explainKeyChange', () => {
  test.each<[string, KeyRecord | undefined, KeyRecord, string[]]>([
    ['never run before', undefined, record(), ['never run before']],
    ['config value', record(), record({ config: { sparsity: 0.8, method: 'magnitude' } }), ['config.sparsity: 0.9 -> 0.8']],
    ['config key added', record(), record({ config: { sparsity: 0.9, method: 'magnitude', epochs: 2 } }), ['config.epochs: unset -> 2']],
    ['config key removed', record(), record({ config: { sparsity: 0.9 } }), ['config.method: "magnitude" -> unset']],
    [
      'nested config, keys sorted',
      record({ config: { schedule: { kind: 'poly', epochs: 4 }, layers: ['a'] } }),
      record({ config: { schedule: { kind: 'step', epochs: 5 }, layers: ['a', 'b'] } }),
      ['config.layers: ["a"] -> ["a","b"]', 'config.schedule.epochs: 4 -> 5', 'config.schedule.kind: "poly" -> "step"'],
    ],
    ['stage version bump', record(), record({ stage: stage({ version: '2', code: DIGEST_B }) }), ['stage version 1 -> 2']],
    ['stage type', record(), record({ stage: stage({ name: 'share' }) }), ['stage type prune -> share']],
    ['stage code change', record(), record({ stage: stage({ code: DIGEST_B, files: 4 }) }), ['stage code changed']],
    ['tfjs upgrade', record(), record({ tfjs: { ...TFJS, core: '4.23.0' } }), ['tfjs 4.22.0 -> 4.23.0']],
    [
      'tfjs and its backend package upgraded',
      record(),
      record({ tfjs: { core: '4.23.0', backend: '@tensorflow/tfjs-backend-wasm@4.23.0' } }),
      ['tfjs 4.22.0 -> 4.23.0', 'tfjs backend @tensorflow/tfjs-backend-wasm 4.22.0 -> 4.23.0'],
    ],
    [
      'another backend: said once, not again as its package',
      record(),
      record({ backend: 'cpu', tfjs: { ...TFJS, backend: '@tensorflow/tfjs-backend-cpu@4.22.0' } }),
      ['backend wasm -> cpu'],
    ],
    [
      'a record written before code and tfjs entered keys',
      { ...record(), stage: { name: 'prune', version: '1' }, tfjs: undefined } as unknown as KeyRecord,
      record(),
      ['stage code changed', 'tfjs unrecorded -> 4.22.0', 'tfjs backend unrecorded -> @tensorflow/tfjs-backend-wasm@4.22.0'],
    ],
    ['input digest change', record(), record({ inputs: [{ outputs: { model: DIGEST_B } }] }), ['input 0 `model` changed (aaaaaaaa -> bbbbbbbb)']],
    [
      'input added',
      record(),
      record({ inputs: [{ outputs: { model: DIGEST_A } }, { outputs: { model: DIGEST_B } }] }),
      ['input 1 `model` changed (none -> bbbbbbbb)'],
    ],
    ['recipe model', record({ model: { build: { arch: 'mlp' } } }), record({ model: { build: { arch: 'cnn' } } }), ['recipe model changed']],
    [
      'dataset declaration',
      record(),
      record({ data: { train: { uses: 'mnist', split: 'test' } } }),
      ['data.train.split: "train" -> "test"'],
    ],
    ['seed', record(), record({ seed: 42 }), ['seed 0 -> 42']],
    ['backend', record(), record({ backend: 'cpu' }), ['backend wasm -> cpu']],
    ['modelpress version', record(), record({ modelpress: '0.2.0' }), ['modelpress 0.1.0 -> 0.2.0']],
    [
      'several changes, most specific first',
      record(),
      record({ modelpress: '0.2.0', config: { sparsity: 0.8, method: 'magnitude' }, seed: 1 }),
      ['modelpress 0.1.0 -> 0.2.0', 'config.sparsity: 0.9 -> 0.8', 'seed 0 -> 1'],
    ],
    ['identical records', record(), record(), ['cache entry missing (evicted, cleared or never stored)']],
  ])('%s', (_name, prev, next, reasons) => {
    expect(explainKeyChange(prev, next)).toEqual(reasons);
  });
});

/**
 * The graph of a recipe, with node configs re-created in this test's realm.
 * Why: node configs come from `structuredClone`, which under jest's vm
 * environment returns objects of the outer realm, and canonicalJson (rightly,
 * in one realm) rejects objects whose prototype is not this realm's
 * Object.prototype. Production code runs in one realm, so this is a test-only shim.
 */
async function graphOf(dir: string, yaml: string): Promise<PlanGraph> {
  const graph = await loadGraph(dir, yaml);
  for (const node of graph.nodes) node.config = JSON.parse(JSON.stringify(node.config));
  return graph;
}

const codeOf = (digest: string) => ({ digest, files: { 'modelpress/a.js': 'a'.repeat(64), 'modelpress/b.js': 'b'.repeat(64) } });

const KEYS: KeyContext = {
  modelpressVersion: '0.1.0',
  stageCode: new Map([
    ['prune', codeOf(DIGEST_A)],
    ['quantize', codeOf(DIGEST_B)],
    ['evaluate', codeOf(CODE)],
  ]),
  tfjs: TFJS,
  model: { build: { arch: 'mlp', units: [8] } },
  data: {},
  seed: 0,
  backend: 'cpu',
};

const RECIPE = `${HEAD}stages:\n  - { id: p, uses: prune, with: { sparsity: 0.9 } }\n  - { id: q, uses: quantize }\n  - { id: e, uses: evaluate }\n`;

/** A tiny artifact directory (model.json + one shard). */
async function artifact(root: string, name: string, seed = 1): Promise<string> {
  const dir = join(root, 'work', name);
  await writeFiles(dir, {
    'model.json': JSON.stringify({ format: 'layers-model', seed }),
    'group1-shard1of1.bin': Uint8Array.from({ length: 32 }, (_, i) => (i * seed) % 256),
  });
  return dir;
}

function summary(ps: Prediction[]): string[] {
  return ps.map((p) => (p.status === 'cached' ? `${p.node.id}: cached` : `${p.node.id}: run (${p.reasons.join('; ')})`));
}

describe('keyRecord', () => {
  test('holds the node config, upstream digests, and the model for roots only', async () => {
    const graph = await graphOf(await tempDir(), RECIPE);
    const [p, q] = graph.nodes;
    expect(keyRecord(p!, [], KEYS)).toEqual({
      modelpress: '0.1.0',
      stage: { name: 'prune', version: '1', code: DIGEST_A, files: 2 },
      tfjs: TFJS,
      config: { sparsity: 0.9, method: 'magnitude', epochs: 0 },
      inputs: [],
      model: { build: { arch: 'mlp', units: [8] } },
      data: {},
      seed: 0,
      backend: 'cpu',
    });
    expect(keyRecord(q!, [{ model: DIGEST_A }], KEYS)).toEqual({
      modelpress: '0.1.0',
      stage: { name: 'quantize', version: '1', code: DIGEST_B, files: 2 },
      tfjs: TFJS,
      config: { weights: 'uint8' },
      inputs: [{ outputs: { model: DIGEST_A } }],
      data: {},
      seed: 0,
      backend: 'cpu',
    });
  });

  test('a stage whose code is not in the context is a bug, said as such', async () => {
    const graph = await graphOf(await tempDir(), RECIPE);
    const keys = { ...KEYS, stageCode: new Map([['quantize', codeOf(DIGEST_B)]]) };
    expect(() => keyRecord(graph.nodes[0]!, [], keys)).toThrow('no code digest for stage `prune` in the key context');
  });
});

describe('predict', () => {
  async function setup(recipe = RECIPE) {
    const root = await tempDir();
    const graph = await graphOf(root, recipe);
    const store = new CacheStore({ dir: join(root, 'cache') });
    const opts = { store, scope: join(root, 'r.yaml'), keys: KEYS };
    return { root, graph, store, opts };
  }

  /** Stores `nodeId`'s entry under the key the planner computes, as `run` would. */
  async function storeNode(root: string, graph: PlanGraph, store: CacheStore, scope: string, nodeId: string, upstream: Record<string, string>[], seed = 1) {
    const node = graph.byId.get(nodeId)!;
    const rec = keyRecord(node, upstream, KEYS);
    const key = keyOf(rec);
    const entry = await store.put(key, { outputs: { model: await artifact(root, nodeId, seed) }, result: {}, record: rec, node: nodeId });
    await store.recordNode(scope, nodeId, key);
    return { key, digest: entry.outputs.model!.digest };
  }

  test('an empty cache: every node runs; the root never ran, the rest wait for upstream', async () => {
    const { graph, opts } = await setup();
    const ps = await predict(graph, opts);
    expect(summary(ps)).toEqual(['p: run (never run before)', 'q: run (upstream p runs)', 'e: run (upstream q runs)']);
    // The root's key is known; downstream keys need upstream digests.
    expect(ps[0]).toMatchObject({ key: keyOf(keyRecord(graph.nodes[0]!, [], KEYS)) });
    expect(ps.map((p) => p.key === undefined)).toEqual([false, true, true]);
  });

  test('a stored root is cached and its child computes its key from the stored digest', async () => {
    const { root, graph, store, opts } = await setup();
    const { key, digest } = await storeNode(root, graph, store, opts.scope, 'p', []);
    const ps = await predict(graph, opts);
    expect(summary(ps)).toEqual(['p: cached', 'q: run (never run before)', 'e: run (upstream q runs)']);
    expect(ps[0]).toMatchObject({ status: 'cached', key, outputs: { model: digest } });
    expect(digest).toBe((await digestDirectory(join(root, 'work', 'p'))).digest);
    expect(ps[1]!.key).toBe(keyOf(keyRecord(graph.byId.get('q')!, [{ model: digest }], KEYS)));
  });

  test('a fully stored chain is cached end to end', async () => {
    const { root, graph, store, opts } = await setup();
    const p = await storeNode(root, graph, store, opts.scope, 'p', []);
    const q = await storeNode(root, graph, store, opts.scope, 'q', [{ model: p.digest }], 2);
    await storeNode(root, graph, store, opts.scope, 'e', [{ model: q.digest }], 3);
    expect(summary(await predict(graph, opts))).toEqual(['p: cached', 'q: cached', 'e: cached']);
  });

  test('an edited config explains itself against the last key recorded for the node', async () => {
    const { root, graph, store, opts } = await setup();
    await storeNode(root, graph, store, opts.scope, 'p', []);
    const edited = await graphOf(root, RECIPE.replace('sparsity: 0.9', 'sparsity: 0.8'));
    expect(summary(await predict(edited, opts))).toEqual([
      'p: run (config.sparsity: 0.9 -> 0.8)',
      'q: run (upstream p runs)',
      'e: run (upstream q runs)',
    ]);
  });

  test('a recorded key whose entry was evicted says so', async () => {
    const { root, graph, store, opts } = await setup();
    const { key } = await storeNode(root, graph, store, opts.scope, 'p', []);
    await store.evict(key);
    expect(summary(await predict(graph, opts))[0]).toBe('p: run (previous cache entry was removed)');
  });

  test('a corrupt entry predicts run, with the corruption', async () => {
    const { root, graph, store, opts } = await setup();
    const { key } = await storeNode(root, graph, store, opts.scope, 'p', []);
    const entries = join(opts.store.dir, 'entries', key.slice(0, 2), key, 'outputs', 'model');
    expect(await readdir(entries)).toContain('group1-shard1of1.bin');
    await writeFile(join(entries, 'group1-shard1of1.bin'), Uint8Array.from({ length: 32 }, () => 7));
    const ps = await predict(graph, opts);
    expect(ps[0]).toMatchObject({ status: 'run', key, corrupt: 'outputs/model/group1-shard1of1.bin: sha256 mismatch' });
    expect(summary(ps)).toEqual([
      'p: run (cache entry corrupt: outputs/model/group1-shard1of1.bin: sha256 mismatch)',
      'q: run (upstream p runs)',
      'e: run (upstream q runs)',
    ]);
  });

  test('fanned-out nodes are predicted one by one', async () => {
    const recipe = `${HEAD}stages:\n  - id: p\n    uses: prune\n    matrix: { s: [0.9, 0.8] }\n    with: { sparsity: "\${matrix.s}" }\n  - { id: pick, uses: select }\n`;
    const { root, graph, store, opts } = await setup(recipe);
    await storeNode(root, graph, store, opts.scope, 'p[s=0.9]', []);
    expect(summary(await predict(graph, opts))).toEqual([
      'p[s=0.9]: cached',
      'p[s=0.8]: run (never run before)',
      'pick: run (upstream p[s=0.8] runs)',
    ]);
  });
});
