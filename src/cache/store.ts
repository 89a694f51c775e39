import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { assertCacheKey, isCacheKey } from './cache-key.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { digestDirectory, listFiles } from './digest.js';
import type { DirectoryDigest } from './digest.js';
import { compareStrings, diskUsage, errorCode, randomName, readdirOrEmpty } from './fs-helpers.js';
import { describeValue } from './guards.js';
import {
  ENTRIES_DIR,
  KEY_FILE,
  LOCKS_DIR,
  LAST_USED_FILE,
  MANIFEST_FILE,
  NODES_DIR,
  OUTPUTS_DIR,
  RESULT_FILE,
  TMP_DIR,
  TRASH_DIR,
} from './layout.js';
import { artifactBytes, describeOutputNameRule, isOutputName, MANIFEST_FORMAT_VERSION, readManifest } from './manifest.js';
import type { CacheManifest } from './manifest.js';
import { KeyLocks, pidAlive } from './key-lock.js';
import { NodeIndex } from './node-index.js';
import type { NodeRecord } from './node-index.js';
import { readVerifiedJson, verifyOutputs } from './verify.js';

const DAY_MS = 24 * 60 * 60 * 1000;
// Older than any put or delete still in progress, so what is left is a killed process's.
const LEFTOVER_AGE_MS = 60 * 60 * 1000;
// What rename(2) reports when the target directory already exists and is not empty
// (EPERM is Windows' answer for the same situation).
const TARGET_EXISTS = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM']);
// The first rename, a retry after setting a corrupt entry aside, and one more because
// a concurrent repairer may set aside the fresh entry we were about to accept.
const PUBLISH_ATTEMPTS = 3;
// Renames that find the target gone again (another writer set it aside meanwhile) are
// not a sign of damage, only of contention: retried up to this many times in all.
const PUBLISH_RACES = 32;
// Reads of an entry that another writer swapped mid-read are repeated this often.
const STABLE_READS = 8;
/** What writing into a cache we may only read reports. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

export interface CacheStoreOptions {
  /** Root directory of the store, created on first write. Example: `.modelpress/cache`. */
  dir: string;
  /** Clock for createdAt, last use and gc cut-offs. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * Per-key locks that make concurrent runs compute a node once (key-lock.ts).
   * Default: `{ staleMs: 120000, heartbeatMs: 10000 }`.
   */
  locks?: { staleMs?: number; heartbeatMs?: number };
}

export interface CachePutInput {
  /** Output name to the directory to copy in. Example: `{ model: '/tmp/run-1/prune/model' }`. */
  outputs: Record<string, string>;
  /** JSON the caller wants back on a hit (metrics, ...). Must be canonical-JSON serializable. */
  result: unknown;
  /** The key record the key was computed from, kept so `cache explain` can show it. */
  record: unknown;
  /** Plan node that produced the entry, for listings. Example: `prune`. */
  node?: string;
}

export interface CacheEntry {
  key: string;
  /** Absolute path of the entry directory. */
  dir: string;
  createdAt: string;
  lastUsedAt: string;
  /** Each output's directory inside the entry (read-only) and its `sha256:` digest. */
  outputs: Record<string, { dir: string; digest: string }>;
  result: unknown;
  record: unknown;
  /** Bytes of the output artifacts; the JSON beside them is negligible. */
  sizeBytes: number;
  node?: string;
}

export type CacheLookup =
  | { status: 'hit'; entry: CacheEntry }
  | { status: 'miss' }
  | { status: 'corrupt'; reason: string };

/** One entry in `list()`, read from its manifest alone (nothing is re-hashed). */
export type CacheEntrySummary =
  | {
      status: 'ok';
      key: string;
      node?: string;
      createdAt: string;
      lastUsedAt: string;
      sizeBytes: number;
    }
  | { status: 'corrupt'; key: string; reason: string };

/** A temp or trash directory, from `leftovers()`. */
export interface CacheLeftover {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  /** False when the process that wrote it is known to be dead. */
  writerAlive: boolean;
}

export interface GcOptions {
  /** Entries not used for this many days are removed. Example: `30`. */
  keepDays: number;
}

export interface GcResult {
  /** Entries removed: stale ones plus those whose manifest is missing or unreadable. */
  removed: number;
  /** Bytes removed, entries and leftovers together. */
  freedBytes: number;
  /** Entries still in the store. */
  kept: number;
  /** Temp and trash directories removed, left by killed processes. */
  leftovers: number;
}

/**
 * A content-addressed store of stage results. Entries are immutable once
 * published; every write goes to a temp directory that is renamed into place,
 * so concurrent writers of one key can only race on the rename, and a reader
 * sees either no entry or a complete one. Reads re-verify every byte, so disk
 * damage or hand edits show up as `corrupt`, which callers treat as a miss.
 * The directory layout is described in layout.ts.
 */
export class CacheStore {
  /** Absolute root of the store. */
  readonly dir: string;
  readonly #now: () => Date;
  readonly #nodes: NodeIndex;
  /** Single-flight per key across processes sharing this store. */
  readonly locks: KeyLocks;

  constructor(options: CacheStoreOptions) {
    const dir: unknown = (options as Partial<CacheStoreOptions> | undefined)?.dir;
    if (typeof dir !== 'string' || dir === '') {
      throw new TypeError(`Expected options.dir to be a non-empty string, got ${describeValue(dir)}`);
    }
    const now: unknown = options.now;
    if (now !== undefined && typeof now !== 'function') {
      throw new TypeError(`Expected options.now to be a function, got ${describeValue(now)}`);
    }
    this.dir = path.resolve(dir);
    this.#now = (now as (() => Date) | undefined) ?? (() => new Date());
    this.#nodes = new NodeIndex({ dir: this.#path(NODES_DIR), tmpDir: this.#path(TMP_DIR), now: this.#now });
    this.locks = new KeyLocks({ dir: this.#path(LOCKS_DIR), ...options.locks });
  }

  /**
   * Stores the outputs under `key` and returns the published entry. When another
   * writer published the same key first, its entry is returned and ours dropped:
   * equal keys mean equal content, so either copy will do.
   */
  async put(key: string, input: CachePutInput): Promise<CacheEntry> {
    assertCacheKey(key);
    const sources = checkOutputs((input as Partial<CachePutInput> | undefined)?.outputs);
    if (input.node !== undefined && typeof input.node !== 'string') {
      throw new TypeError(`Expected input.node to be a string, got ${describeValue(input.node)}`);
    }
    // Serialize before touching the disk, so a result holding NaN fails cleanly.
    const resultJson = canonicalJson(input.result);
    const recordJson = canonicalJson(input.record);

    await mkdir(this.#path(TMP_DIR), { recursive: true });
    // Not mkdtemp: its 0700 would become the published entry's mode and lock
    // other users out of a shared cache. mkdir follows the umask (docs/cache.md).
    // The writer's pid and host in the name let gc tell a killed write from a live one.
    const tmp = path.join(this.#path(TMP_DIR), `put-${process.pid}@${safeHost()}-${randomName()}`);
    await mkdir(tmp);
    try {
      const outputs: Record<string, DirectoryDigest> = {};
      for (const [name, source] of sources) {
        const target = path.join(tmp, OUTPUTS_DIR, name);
        await copyDirectory(source, target);
        // Digest the copy, not the source: the source may change while we copy.
        outputs[name] = await digestDirectory(target);
      }
      await writeFile(path.join(tmp, RESULT_FILE), resultJson);
      await writeFile(path.join(tmp, KEY_FILE), recordJson);
      const manifest: CacheManifest = {
        formatVersion: MANIFEST_FORMAT_VERSION,
        key,
        createdAt: this.#now().toISOString(),
        ...(input.node === undefined ? {} : { node: input.node }),
        outputs,
        resultSha256: sha256Hex(resultJson),
        keySha256: sha256Hex(recordJson),
      };
      // Last, so any directory holding a manifest is complete, even one a killed process left in tmp/.
      await writeFile(path.join(tmp, MANIFEST_FILE), canonicalJson(manifest));
      const ours = (): CacheEntry =>
        this.#toEntry(manifest, JSON.parse(resultJson), JSON.parse(recordJson), manifest.createdAt);
      return await this.#publish(key, tmp, ours);
    } finally {
      // A no-op once published; otherwise drops our copy (lost race or failure).
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Looks `key` up and verifies every byte of the entry. Never throws for damaged data. */
  async get(key: string): Promise<CacheLookup> {
    assertCacheKey(key);
    const lookup = await this.#inspectStable(key);
    if (lookup.status !== 'hit') return lookup;
    const usedAt = this.#now().toISOString();
    try {
      await writeFile(path.join(lookup.entry.dir, LAST_USED_FILE), usedAt);
      lookup.entry.lastUsedAt = usedAt;
    } catch {
      // Last use only steers gc; a read-only or concurrently evicted cache must still serve the hit.
    }
    return lookup;
  }

  /** Removes the entry for `key`; false when there was none. */
  async evict(key: string): Promise<boolean> {
    assertCacheKey(key);
    return this.#moveToTrash(this.#entryDir(key));
  }

  /** Summaries of all entries, newest first; damaged manifests are listed last as `corrupt`. */
  async list(): Promise<CacheEntrySummary[]> {
    const summaries: CacheEntrySummary[] = [];
    for (const key of await this.#keys()) {
      const dir = this.#entryDir(key);
      const manifest = await readManifest(dir, key);
      if (manifest === undefined) continue;
      if ('reason' in manifest) {
        summaries.push({ status: 'corrupt', key, reason: manifest.reason });
        continue;
      }
      summaries.push({
        status: 'ok',
        key,
        ...(manifest.node === undefined ? {} : { node: manifest.node }),
        createdAt: manifest.createdAt,
        lastUsedAt: await readLastUsed(dir, manifest.createdAt),
        sizeBytes: artifactBytes(manifest),
      });
    }
    return summaries.sort(newestFirst);
  }

  /** The key record stored with `key`, or undefined when the entry or its record is missing or damaged. */
  async readRecord(key: string): Promise<unknown> {
    assertCacheKey(key);
    const dir = this.#entryDir(key);
    const manifest = await readManifest(dir, key);
    if (manifest === undefined || 'reason' in manifest) return undefined;
    const record = await readVerifiedJson(dir, KEY_FILE, manifest.keySha256);
    return 'value' in record ? record.value : undefined;
  }

  /**
   * Removes entries unused for `keepDays` (last hit, else creation), entries
   * whose manifest is missing or unreadable (they can never be a hit), and
   * temp or trash directories left by killed processes: at once when the
   * writer's pid is gone on this host, otherwise after an hour.
   */
  async gc({ keepDays }: GcOptions): Promise<GcResult> {
    if (typeof keepDays !== 'number' || !Number.isFinite(keepDays) || keepDays < 0) {
      throw new TypeError(`Expected options.keepDays to be a non-negative number, got ${describeValue(keepDays)}`);
    }
    const now = this.#now().getTime();
    const cutoff = now - keepDays * DAY_MS;
    const outcome: GcResult = { removed: 0, freedBytes: 0, kept: 0, leftovers: 0 };

    for (const key of await this.#keys()) {
      const dir = this.#entryDir(key);
      const manifest = await readManifest(dir, key);
      if (manifest === undefined) continue;
      const stale =
        'reason' in manifest || Date.parse(await readLastUsed(dir, manifest.createdAt)) < cutoff;
      if (!stale) {
        outcome.kept += 1;
        continue;
      }
      const bytes = await diskUsage(dir);
      if (await this.#moveToTrash(dir)) {
        outcome.removed += 1;
        outcome.freedBytes += bytes;
      }
    }

    for (const leftover of await this.leftovers()) {
      if (leftover.writerAlive && leftover.mtimeMs > now - LEFTOVER_AGE_MS) continue;
      outcome.freedBytes += leftover.sizeBytes;
      await rm(leftover.path, { recursive: true, force: true });
      outcome.leftovers += 1;
    }
    return outcome;
  }

  /**
   * Temp and trash directories: writes and deletes in progress, or left by
   * killed processes (a killed put can leave hundreds of MB). `writerAlive` is
   * false when the put's pid is gone on this host; other directories count as
   * alive until they are an hour old.
   */
  async leftovers(): Promise<CacheLeftover[]> {
    const found: CacheLeftover[] = [];
    for (const area of [TMP_DIR, TRASH_DIR]) {
      const root = this.#path(area);
      for (const name of await readdirOrEmpty(root)) {
        const target = path.join(root, name);
        const info = await lstat(target).catch(() => undefined);
        if (info === undefined) continue;
        const writer = /^put-(\d+)@([^-]+)-/.exec(name);
        const writerAlive = writer === null || writer[2] !== safeHost() || pidAlive(Number(writer[1]));
        found.push({ path: target, sizeBytes: await diskUsage(target), mtimeMs: info.mtimeMs, writerAlive });
      }
    }
    return found;
  }

  /** Removes every entry, node record and temp directory. */
  async clear(): Promise<{ removed: number }> {
    const removed = (await this.#keys()).length;
    for (const area of [ENTRIES_DIR, NODES_DIR, TMP_DIR]) {
      await this.#moveToTrash(this.#path(area));
    }
    await rm(this.#path(TRASH_DIR), { recursive: true, force: true });
    return { removed };
  }

  /**
   * Remembers that `nodeId` in `scope` (e.g. a recipe path) last produced `key`.
   * On a cache the process may not write (a read-only mount, another user's
   * directory) nothing is recorded and the error code is returned: the index
   * only explains re-runs, so reading a cache must not depend on it.
   */
  async recordNode(scope: string, nodeId: string, key: string): Promise<{ recorded: true } | { recorded: false; code: string }> {
    try {
      await this.#nodes.record(scope, nodeId, key);
      return { recorded: true };
    } catch (error) {
      const code = errorCode(error);
      if (code === undefined || !READ_ONLY_CODES.has(code)) throw error;
      return { recorded: false, code };
    }
  }

  /** The key `nodeId` in `scope` last produced, if recorded. */
  async lastKeyForNode(scope: string, nodeId: string): Promise<string | undefined> {
    return this.#nodes.lastKey(scope, nodeId);
  }

  /** All node records, or those of one scope, sorted by scope then node id. */
  async listNodes(scope?: string): Promise<NodeRecord[]> {
    return this.#nodes.list(scope);
  }

  async #publish(key: string, tmp: string, ours: () => CacheEntry): Promise<CacheEntry> {
    const final = this.#entryDir(key);
    let corruptSeen = 0;
    for (let race = 1; ; race += 1) {
      await mkdir(path.dirname(final), { recursive: true });
      let failure: unknown;
      try {
        await rename(tmp, final);
        return ours();
      } catch (error) {
        if (!TARGET_EXISTS.has(errorCode(error) ?? '')) throw error;
        failure = error;
      }
      const existing = await this.#inspectStable(key);
      if (existing.status === 'hit') return existing.entry;
      if (existing.status === 'miss') {
        // Set aside by a concurrent repairer between our rename and our read: try again.
        if (race >= PUBLISH_RACES) throw failure;
        continue;
      }
      corruptSeen += 1;
      if (corruptSeen >= PUBLISH_ATTEMPTS) {
        throw new Error(`Could not publish cache entry ${key}: ${existing.reason}`, { cause: failure });
      }
      // A damaged entry blocks the rename; set it aside so a fresh copy can repair it.
      await this.#moveToTrash(final);
    }
  }

  /**
   * Inspects the entry, repeating the read when the directory was replaced while we
   * read it (a concurrent repair renames entries in and out): a verdict drawn from the
   * manifest of one copy and the files of another, or of none, would call a sound
   * entry corrupt and have it thrown away.
   */
  async #inspectStable(key: string): Promise<CacheLookup> {
    const dir = this.#entryDir(key);
    let lookup: CacheLookup = { status: 'miss' };
    for (let read = 0; read < STABLE_READS; read += 1) {
      const before = await directoryIdentity(dir);
      if (before === undefined) return { status: 'miss' };
      lookup = await this.#inspect(key);
      if (before === (await directoryIdentity(dir))) return lookup;
    }
    return lookup;
  }

  async #inspect(key: string): Promise<CacheLookup> {
    const dir = this.#entryDir(key);
    const manifest = await readManifest(dir, key);
    if (manifest === undefined) return { status: 'miss' };
    if ('reason' in manifest) return { status: 'corrupt', reason: manifest.reason };
    const result = await readVerifiedJson(dir, RESULT_FILE, manifest.resultSha256);
    if ('reason' in result) return { status: 'corrupt', reason: result.reason };
    const record = await readVerifiedJson(dir, KEY_FILE, manifest.keySha256);
    if ('reason' in record) return { status: 'corrupt', reason: record.reason };
    const reason = await verifyOutputs(path.join(dir, OUTPUTS_DIR), manifest.outputs);
    if (reason !== undefined) return { status: 'corrupt', reason };
    const lastUsedAt = await readLastUsed(dir, manifest.createdAt);
    return { status: 'hit', entry: this.#toEntry(manifest, result.value, record.value, lastUsedAt) };
  }

  #toEntry(manifest: CacheManifest, result: unknown, record: unknown, lastUsedAt: string): CacheEntry {
    const dir = this.#entryDir(manifest.key);
    const outputs: CacheEntry['outputs'] = {};
    for (const [name, digest] of Object.entries(manifest.outputs)) {
      outputs[name] = { dir: path.join(dir, OUTPUTS_DIR, name), digest: digest.digest };
    }
    return {
      key: manifest.key,
      dir,
      createdAt: manifest.createdAt,
      lastUsedAt,
      outputs,
      result,
      record,
      sizeBytes: artifactBytes(manifest),
      ...(manifest.node === undefined ? {} : { node: manifest.node }),
    };
  }

  /** Moves `target` into trash/ (atomic, so readers never see it half-deleted), then deletes it. */
  async #moveToTrash(target: string): Promise<boolean> {
    const trash = this.#path(TRASH_DIR);
    await mkdir(trash, { recursive: true });
    const aside = path.join(trash, randomName());
    try {
      await rename(target, aside);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
    // If this fails the entry is already gone for readers; gc sweeps what is left.
    await rm(aside, { recursive: true, force: true }).catch(() => undefined);
    return true;
  }

  async #keys(): Promise<string[]> {
    const root = this.#path(ENTRIES_DIR);
    const keys: string[] = [];
    for (const shard of await readdirOrEmpty(root)) {
      for (const name of await readdirOrEmpty(path.join(root, shard))) {
        if (isCacheKey(name) && name.startsWith(shard)) keys.push(name);
      }
    }
    return keys.sort();
  }

  #path(area: string): string {
    return path.join(this.dir, area);
  }

  #entryDir(key: string): string {
    // Sharded by the first byte so no single directory grows to every entry.
    return path.join(this.dir, ENTRIES_DIR, key.slice(0, 2), key);
  }
}

/**
 * Which directory sits at `dir` now: inode and change time, so a directory renamed
 * into place (rename sets its ctime) differs from the one it replaced. Undefined when absent.
 */
async function directoryIdentity(dir: string): Promise<string | undefined> {
  try {
    const info = await lstat(dir, { bigint: true });
    return `${info.dev}:${info.ino}:${info.ctimeNs}`;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The host name as it can appear in a temp directory name (no `-`, which separates the parts). */
function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_');
}

function checkOutputs(outputs: unknown): [string, string][] {
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
    throw new TypeError(
      `Expected input.outputs to map output names to directories, got ${describeValue(outputs)}`,
    );
  }
  const entries = Object.entries(outputs as Record<string, unknown>);
  for (const [name, source] of entries) {
    if (!isOutputName(name)) {
      throw new TypeError(`Expected an output name matching ${describeOutputNameRule()}, got ${describeValue(name)}`);
    }
    if (typeof source !== 'string' || source === '') {
      throw new TypeError(`Expected input.outputs.${name} to be a directory path, got ${describeValue(source)}`);
    }
  }
  return (entries as [string, string][]).sort(([a], [b]) => compareStrings(a, b));
}

async function copyDirectory(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const file of await listFiles(source)) {
    const destination = path.join(target, ...file.path.split('/'));
    await mkdir(path.dirname(destination), { recursive: true });
    // Clones where the file system supports it (btrfs, APFS), which costs no space.
    await copyFile(file.absolute, destination, constants.COPYFILE_FICLONE);
  }
}

async function readLastUsed(dir: string, fallback: string): Promise<string> {
  try {
    const time = Date.parse(await readFile(path.join(dir, LAST_USED_FILE), 'utf8'));
    return Number.isNaN(time) ? fallback : new Date(time).toISOString();
  } catch {
    return fallback;
  }
}

function newestFirst(a: CacheEntrySummary, b: CacheEntrySummary): number {
  if (a.status === 'ok' && b.status === 'ok') {
    return Date.parse(b.createdAt) - Date.parse(a.createdAt) || compareStrings(a.key, b.key);
  }
  if (a.status !== b.status) return a.status === 'ok' ? -1 : 1;
  return compareStrings(a.key, b.key);
}
