import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertCacheKey, isCacheKey } from './cache-key.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { compareStrings, randomName, readdirOrEmpty } from './fs-helpers.js';
import { assertNonEmptyString, isRecord } from './guards.js';

/** The last cache key a plan node produced, so a planner can say why it re-ran. */
export interface NodeRecord {
  /** What the node id is unique within, e.g. the recipe path. */
  scope: string;
  nodeId: string;
  key: string;
  at: string;
}

export interface NodeIndexOptions {
  /** Directory holding one `<sha256(scope\0nodeId)>.json` per node. */
  dir: string;
  /** Where records are written before their rename; must be on the same file system as `dir`. */
  tmpDir: string;
  now: () => Date;
}

/** Maps (scope, node id) to the last key the node produced, one small file per node. */
export class NodeIndex {
  readonly #options: NodeIndexOptions;

  constructor(options: NodeIndexOptions) {
    this.#options = options;
  }

  async record(scope: string, nodeId: string, key: string): Promise<void> {
    assertNonEmptyString(scope, 'scope');
    assertNonEmptyString(nodeId, 'nodeId');
    assertCacheKey(key);
    const { dir, tmpDir, now } = this.#options;
    const record: NodeRecord = { scope, nodeId, key, at: now().toISOString() };
    await mkdir(dir, { recursive: true });
    await mkdir(tmpDir, { recursive: true });
    // Temp file plus rename, so a reader never parses half a record.
    const temp = path.join(tmpDir, `node-${randomName()}.json`);
    await writeFile(temp, canonicalJson(record));
    try {
      await rename(temp, this.#file(scope, nodeId));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async lastKey(scope: string, nodeId: string): Promise<string | undefined> {
    assertNonEmptyString(scope, 'scope');
    assertNonEmptyString(nodeId, 'nodeId');
    const record = await readNodeRecord(this.#file(scope, nodeId));
    // Compared because a `\0` inside a scope could make two pairs share a file name.
    return record?.scope === scope && record.nodeId === nodeId ? record.key : undefined;
  }

  async list(scope?: string): Promise<NodeRecord[]> {
    const records: NodeRecord[] = [];
    for (const name of await readdirOrEmpty(this.#options.dir)) {
      if (!name.endsWith('.json')) continue;
      const record = await readNodeRecord(path.join(this.#options.dir, name));
      if (record !== undefined && (scope === undefined || record.scope === scope)) records.push(record);
    }
    return records.sort((a, b) => compareStrings(a.scope, b.scope) || compareStrings(a.nodeId, b.nodeId));
  }

  #file(scope: string, nodeId: string): string {
    // Hashed because scopes and node ids are free text (paths, `share[bits=4]`).
    return path.join(this.#options.dir, `${sha256Hex(`${scope}\0${nodeId}`)}.json`);
  }
}

/** A damaged or foreign file reads as no record: the index is a hint, not a source of truth. */
async function readNodeRecord(file: string): Promise<NodeRecord | undefined> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (
    !isRecord(data) ||
    typeof data.scope !== 'string' ||
    typeof data.nodeId !== 'string' ||
    !isCacheKey(data.key) ||
    typeof data.at !== 'string'
  ) {
    return undefined;
  }
  return { scope: data.scope, nodeId: data.nodeId, key: data.key, at: data.at };
}
