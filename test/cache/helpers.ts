import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Returns a factory of temp dirs that are removed after each test of the calling file. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modelpress-cache-test-'));
    dirs.push(dir);
    return dir;
  };
}

/** Writes `files` (posix relative path -> content) below `root`. */
export async function writeTree(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, ...relative.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** A tiny tfjs-shaped artifact: model.json, one 64-byte weight shard, meta.json. */
export function modelFiles(seed = 1): Record<string, string | Uint8Array> {
  return {
    'model.json': JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['group1-shard1of1.bin'] }] }),
    'group1-shard1of1.bin': Uint8Array.from({ length: 64 }, (_, i) => (i * seed) % 256),
    'meta.json': JSON.stringify({ lineage: ['train'], seed }),
  };
}

/** A key that differs per `n`, for tests that need several entries. */
export function keyOf(n: number): string {
  return n.toString(16).padStart(2, '0').repeat(32);
}
