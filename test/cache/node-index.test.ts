import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../../src/cache/canonical-json.js';
import { CacheStore } from '../../src/cache/store.js';
import { keyOf, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

async function setup() {
  const root = await tempDir();
  const store = new CacheStore({ dir: root, now: () => new Date('2024-05-06T07:08:09.000Z') });
  return { root, store };
}

describe('CacheStore node index', () => {
  it('round-trips the last key of a node and overwrites it on re-record', async () => {
    const { store } = await setup();
    expect(await store.lastKeyForNode('a.yaml', 'prune')).toBeUndefined();
    await store.recordNode('a.yaml', 'prune', keyOf(1));
    expect(await store.lastKeyForNode('a.yaml', 'prune')).toBe(keyOf(1));
    await store.recordNode('a.yaml', 'prune', keyOf(2));
    expect(await store.lastKeyForNode('a.yaml', 'prune')).toBe(keyOf(2));
    expect(await store.lastKeyForNode('b.yaml', 'prune')).toBeUndefined();
  });

  it('stores one atomically written file per node under nodes/', async () => {
    const { root, store } = await setup();
    await store.recordNode('a.yaml', 'share[bits=4]', keyOf(3));
    const name = `${sha256Hex('a.yaml\0share[bits=4]')}.json`;
    expect(await readdir(path.join(root, 'nodes'))).toEqual([name]);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(root, 'nodes', name), 'utf8'))).toEqual({
      scope: 'a.yaml',
      nodeId: 'share[bits=4]',
      key: keyOf(3),
      at: '2024-05-06T07:08:09.000Z',
    });
  });

  it('lists nodes sorted, optionally within one scope', async () => {
    const { store } = await setup();
    await store.recordNode('b.yaml', 'eval', keyOf(4));
    await store.recordNode('a.yaml', 'quantize', keyOf(2));
    await store.recordNode('a.yaml', 'prune', keyOf(1));
    const at = '2024-05-06T07:08:09.000Z';
    expect(await store.listNodes()).toEqual([
      { scope: 'a.yaml', nodeId: 'prune', key: keyOf(1), at },
      { scope: 'a.yaml', nodeId: 'quantize', key: keyOf(2), at },
      { scope: 'b.yaml', nodeId: 'eval', key: keyOf(4), at },
    ]);
    expect((await store.listNodes('b.yaml')).map((node) => node.nodeId)).toEqual(['eval']);
    expect(await store.listNodes('c.yaml')).toEqual([]);
  });

  it('treats a damaged node file as unrecorded', async () => {
    const { root, store } = await setup();
    await store.recordNode('a.yaml', 'prune', keyOf(1));
    await writeFile(path.join(root, 'nodes', `${sha256Hex('a.yaml\0prune')}.json`), '{"scope":');
    expect(await store.lastKeyForNode('a.yaml', 'prune')).toBeUndefined();
    expect(await store.listNodes()).toEqual([]);
  });

  it.each<[string, unknown, unknown, string]>([
    ['an empty scope', '', 'prune', 'Expected scope to be a non-empty string, got ""'],
    ['a non-string node id', 'a.yaml', 7, 'Expected nodeId to be a non-empty string, got 7'],
  ])('rejects %s', async (_name, scope, nodeId, message) => {
    const { store } = await setup();
    await expect(store.recordNode(scope as string, nodeId as string, keyOf(1))).rejects.toThrow(new TypeError(message));
    await expect(store.lastKeyForNode(scope as string, nodeId as string)).rejects.toThrow(new TypeError(message));
  });
});
