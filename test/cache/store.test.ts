import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestDirectory } from '../../src/cache/digest.js';
import { CacheStore } from '../../src/cache/store.js';
import type { CacheStoreOptions } from '../../src/cache/store.js';
import { keyOf, modelFiles, useTempDirs, writeTree } from './helpers.js';

const tempDir = useTempDirs();
const KEY = 'ab'.repeat(32);
const SHARD = 'group1-shard1of1.bin';

class Clock {
  constructor(public time = new Date('2024-03-01T12:00:00.000Z')) {}
  readonly now = (): Date => this.time;
  advance(ms: number): void {
    this.time = new Date(this.time.getTime() + ms);
  }
}

async function setup() {
  const root = await tempDir();
  const model = path.join(root, 'work', 'model');
  await writeTree(model, modelFiles());
  const clock = new Clock();
  const store = new CacheStore({ dir: path.join(root, 'cache'), now: clock.now });
  const input = { outputs: { model }, result: { metrics: { accuracy: 0.98 } }, record: { stage: 'prune', sparsity: 0.9 }, node: 'prune' };
  return { root, model, clock, store, input };
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const { files } = await digestDirectory(dir);
  const out: Record<string, string> = {};
  for (const file of files) out[file.path] = (await readFile(path.join(dir, file.path))).toString('base64');
  return out;
}

describe('CacheStore options', () => {
  it.each<[string, unknown, string]>([
    ['an empty dir', { dir: '' }, 'Expected options.dir to be a non-empty string, got ""'],
    ['a missing dir', {}, 'Expected options.dir to be a non-empty string, got undefined'],
    ['a numeric dir', { dir: 3 }, 'Expected options.dir to be a non-empty string, got 3'],
    ['a non-function clock', { dir: 'c', now: 5 }, 'Expected options.now to be a function, got 5'],
  ])('rejects %s', (_name, options, message) => {
    expect(() => new CacheStore(options as CacheStoreOptions)).toThrow(new TypeError(message));
  });

  it('resolves dir to an absolute path', () => {
    expect(new CacheStore({ dir: 'rel' }).dir).toBe(path.resolve('rel'));
  });
});

describe('CacheStore put/get', () => {
  it('misses on a key it never stored', async () => {
    const { store } = await setup();
    expect(await store.get(KEY)).toEqual({ status: 'miss' });
  });

  it('returns a hit with identical bytes, result, record and metadata', async () => {
    const { store, input, model, clock, root } = await setup();
    const put = await store.put(KEY, input);
    clock.advance(60_000);
    const lookup = await store.get(KEY);
    if (lookup.status !== 'hit') throw new Error(`expected a hit, got ${JSON.stringify(lookup)}`);
    const { entry } = lookup;

    const entryDir = path.join(root, 'cache', 'entries', 'ab', KEY);
    expect(entry).toEqual({
      key: KEY,
      dir: entryDir,
      createdAt: '2024-03-01T12:00:00.000Z',
      lastUsedAt: '2024-03-01T12:01:00.000Z',
      outputs: { model: { dir: path.join(entryDir, 'outputs', 'model'), digest: (await digestDirectory(model)).digest } },
      result: input.result,
      record: input.record,
      sizeBytes: (await digestDirectory(model)).files.reduce((sum, file) => sum + file.size, 0),
      node: 'prune',
    });
    expect({ ...put, lastUsedAt: entry.lastUsedAt }).toEqual(entry);
    expect(await readTree(entry.outputs.model?.dir ?? '')).toEqual(await readTree(model));
    expect(await readFile(path.join(entryDir, 'last-used'), 'utf8')).toBe('2024-03-01T12:01:00.000Z');
  });

  it('writes the documented layout and leaves no temp dirs', async () => {
    const { store, input, root } = await setup();
    await store.put(KEY, input);
    const cache = path.join(root, 'cache');
    const entryDir = path.join(cache, 'entries', 'ab', KEY);
    expect((await readdir(entryDir)).sort()).toEqual(['key.json', 'manifest.json', 'outputs', 'result.json']);
    expect(await readdir(path.join(cache, 'tmp'))).toEqual([]);
    const manifest = JSON.parse(await readFile(path.join(entryDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ formatVersion: 1, key: KEY, createdAt: '2024-03-01T12:00:00.000Z', node: 'prune' });
    expect(Object.keys(manifest.outputs)).toEqual(['model']);
    expect(manifest.outputs.model.files.map((file: { path: string }) => file.path)).toEqual([SHARD, 'meta.json', 'model.json']);
    expect(JSON.parse(await readFile(path.join(entryDir, 'key.json'), 'utf8'))).toEqual(input.record);
  });

  it('stores a copy, so later edits to the source do not touch the entry', async () => {
    const { store, input, model } = await setup();
    const before = await readTree(model);
    await store.put(KEY, input);
    await writeFile(path.join(model, 'model.json'), 'changed');
    const lookup = await store.get(KEY);
    expect(lookup.status).toBe('hit');
    if (lookup.status === 'hit') expect(await readTree(lookup.entry.outputs.model?.dir ?? '')).toEqual(before);
  });

  it('stores several outputs, or none', async () => {
    const { store, input, root } = await setup();
    const report = path.join(root, 'work', 'report');
    await writeTree(report, { 'report.md': '# ok' });
    await store.put(KEY, { ...input, outputs: { model: input.outputs.model, report } });
    await store.put(keyOf(1), { result: 1, record: 2, outputs: {} });
    const both = await store.get(KEY);
    expect(both.status === 'hit' && Object.keys(both.entry.outputs).sort()).toEqual(['model', 'report']);
    const none = await store.get(keyOf(1));
    expect(none.status === 'hit' && none.entry.outputs).toEqual({});
  });

  it.each<[string, (input: Awaited<ReturnType<typeof setup>>['input']) => unknown, string]>([
    ['a NaN in the result', (input) => ({ ...input, result: { loss: Number.NaN } }), 'Expected a finite number at $.loss, got NaN'],
    ['an output name with a path', (input) => ({ ...input, outputs: { '../x': input.outputs.model } }), 'Expected an output name matching /^[A-Za-z0-9_][A-Za-z0-9._-]*$/, got "../x"'],
    ['a non-string source', (input) => ({ ...input, outputs: { model: 1 } }), 'Expected input.outputs.model to be a directory path, got 1'],
    ['missing outputs', (input) => ({ ...input, outputs: undefined }), 'Expected input.outputs to map output names to directories, got undefined'],
  ])('rejects %s before writing anything', async (_name, makeInput, message) => {
    const { store, input, root } = await setup();
    await expect(store.put(KEY, makeInput(input) as typeof input)).rejects.toThrow(new TypeError(message));
    expect(await readdir(path.join(root, 'cache')).catch(() => [])).toEqual([]);
  });

  it('cleans its temp dir when a source directory is missing', async () => {
    const { store, input, root } = await setup();
    await expect(store.put(KEY, { ...input, outputs: { model: path.join(root, 'nope') } })).rejects.toThrow(/ENOENT/);
    expect(await readdir(path.join(root, 'cache', 'tmp'))).toEqual([]);
    expect(await store.get(KEY)).toEqual({ status: 'miss' });
  });
});

describe('CacheStore corruption', () => {
  const shard = (entry: string) => path.join(entry, 'outputs', 'model', SHARD);
  const editManifest = async (entry: string, edit: (manifest: Record<string, unknown>) => void) => {
    const file = path.join(entry, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(manifest);
    await writeFile(file, JSON.stringify(manifest));
  };

  it.each<[string, (entry: string) => Promise<void>, string]>([
    ['a flipped byte', async (entry) => {
      const bytes = await readFile(shard(entry));
      bytes[10] = (bytes[10] ?? 0) ^ 0xff;
      await writeFile(shard(entry), bytes);
    }, `outputs/model/${SHARD}: sha256 mismatch`],
    ['a truncated shard', (entry) => truncate(shard(entry), 10), `outputs/model/${SHARD}: size mismatch (expected 64 bytes, found 10)`],
    ['a deleted file', (entry) => rm(path.join(entry, 'outputs', 'model', 'model.json')), 'outputs/model/model.json: missing'],
    ['an extra file', (entry) => writeFile(path.join(entry, 'outputs', 'model', 'notes.txt'), 'x'), 'outputs/model/notes.txt: unexpected file'],
    ['a deleted output', (entry) => rm(path.join(entry, 'outputs', 'model'), { recursive: true }), 'outputs/model: missing'],
    ['an extra output', (entry) => writeTree(path.join(entry, 'outputs', 'extra'), { a: 'a' }), 'outputs/extra: not in manifest'],
    ['an edited result.json', (entry) => writeFile(path.join(entry, 'result.json'), '{"metrics":{"accuracy":1}}'), 'result.json: sha256 mismatch'],
    ['a deleted result.json', (entry) => rm(path.join(entry, 'result.json')), 'result.json: missing'],
    ['an edited key.json', (entry) => writeFile(path.join(entry, 'key.json'), '{}'), 'key.json: sha256 mismatch'],
    ['a deleted manifest', (entry) => rm(path.join(entry, 'manifest.json')), 'manifest.json: missing'],
    ['an unparsable manifest', (entry) => writeFile(path.join(entry, 'manifest.json'), '{"formatVersion":'), 'manifest.json: invalid JSON'],
    ['a newer manifest format', (entry) => editManifest(entry, (m) => { m.formatVersion = 2; }), 'manifest.json: unsupported formatVersion 2'],
    ['a manifest of another key', (entry) => editManifest(entry, (m) => { m.key = keyOf(7); }), `manifest.json: key "${keyOf(7)}" does not match the entry directory`],
    ['a manifest naming an output outside the entry', (entry) => editManifest(entry, (m) => {
      m.outputs = { '../../escape': (m.outputs as Record<string, unknown>).model };
    }), 'manifest.json: invalid outputs.../../escape'],
  ])('reports %s as corrupt, naming the file, and a new put repairs it', async (_name, damage, reason) => {
    const { store, input, root } = await setup();
    const { dir } = await store.put(KEY, input);
    await damage(dir);

    expect(await store.get(KEY)).toEqual({ status: 'corrupt', reason });

    const repaired = await store.put(KEY, input);
    expect(repaired.dir).toBe(dir);
    expect((await store.get(KEY)).status).toBe('hit');
    expect(await readdir(path.join(root, 'cache', 'trash'))).toEqual([]);
  });
});

describe('CacheStore evict, list, readRecord', () => {
  it('evicts an entry through the trash', async () => {
    const { store, input, root } = await setup();
    await store.put(KEY, input);
    expect(await store.evict(KEY)).toBe(true);
    expect(await store.get(KEY)).toEqual({ status: 'miss' });
    expect(await store.evict(KEY)).toBe(false);
    expect(await readdir(path.join(root, 'cache', 'trash'))).toEqual([]);
  });

  it('lists entries newest first from their manifests, damaged ones last', async () => {
    const { store, input, clock } = await setup();
    const first = await store.put(keyOf(1), input);
    clock.advance(1000);
    await store.put(keyOf(2), { ...input, node: 'quantize' });
    clock.advance(1000);
    const third = await store.put(keyOf(3), { outputs: {}, result: null, record: {} });
    clock.advance(1000);
    await store.get(keyOf(1));
    await rm(path.join(third.dir, 'manifest.json'));

    expect(await store.list()).toEqual([
      { status: 'ok', key: keyOf(2), node: 'quantize', createdAt: '2024-03-01T12:00:01.000Z', lastUsedAt: '2024-03-01T12:00:01.000Z', sizeBytes: first.sizeBytes },
      { status: 'ok', key: keyOf(1), node: 'prune', createdAt: '2024-03-01T12:00:00.000Z', lastUsedAt: '2024-03-01T12:00:03.000Z', sizeBytes: first.sizeBytes },
      { status: 'corrupt', key: keyOf(3), reason: 'manifest.json: missing' },
    ]);
  });

  it('reads the stored key record', async () => {
    const { store, input } = await setup();
    const { dir } = await store.put(KEY, input);
    expect(await store.readRecord(KEY)).toEqual(input.record);
    expect(await store.readRecord(keyOf(9))).toBeUndefined();
    await writeFile(path.join(dir, 'key.json'), '{"forged":true}');
    expect(await store.readRecord(KEY)).toBeUndefined();
  });
});

describe('CacheStore key validation', () => {
  const methods: [string, (store: CacheStore, key: unknown) => Promise<unknown>][] = [
    ['get', (store, key) => store.get(key as string)],
    ['put', (store, key) => store.put(key as string, { outputs: {}, result: 1, record: 1 })],
    ['evict', (store, key) => store.evict(key as string)],
    ['readRecord', (store, key) => store.readRecord(key as string)],
    ['recordNode', (store, key) => store.recordNode('recipe', 'node', key as string)],
  ];
  const badKeys: [string, unknown][] = [
    ['empty', ''],
    ['a traversal', `../../${'a'.repeat(58)}`],
    ['uppercase hex', 'AB'.repeat(32)],
    ['63 characters', 'a'.repeat(63)],
    ['65 characters', 'a'.repeat(65)],
    ['a sha256: prefix', `sha256:${'a'.repeat(64)}`],
    ['a number', 42],
  ];

  it.each(methods.flatMap(([method, call]) => badKeys.map(([label, key]) => [method, label, call, key] as const)))(
    '%s rejects %s',
    async (_method, _label, call, key) => {
      const root = await tempDir();
      const store = new CacheStore({ dir: root });
      await expect(call(store, key)).rejects.toThrow(TypeError);
      await expect(call(store, key)).rejects.toThrow(/^Expected a cache key of 64 lowercase hex characters, got /);
      expect(await readdir(root)).toEqual([]);
    },
  );
});
