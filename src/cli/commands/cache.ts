/**
 * `modelpress cache ls | explain <node> | gc [--keep-days N] | clear`.
 * The cache directory comes from --cache-dir, MODELPRESS_CACHE_DIR, or the
 * project's `node_modules/.cache/modelpress`, the project being the nearest
 * package.json above --recipe (else the current directory): any folder of
 * the project finds the cache every recipe of it wrote. `plan` and run.json say why a node re-runs (the
 * difference between its new key record and the last one); `explain` shows
 * the record behind the node's current key.
 */
import { codeDriftSince } from '../../plan/code-drift.js';
import type { KeyRecord } from '../../plan/key-record.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { openStore } from './prepare.js';

export interface CacheOptions {
  cacheDir?: string;
  recipe?: string;
}

function kb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export async function cacheLs(opts: CacheOptions, io: Io): Promise<number> {
  const store = openStore(opts.cacheDir, opts.recipe, io);
  const entries = await store.list();
  io.out(`cache ${store.dir}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
  let total = 0;
  for (const e of entries) {
    if (e.status === 'ok') {
      total += e.sizeBytes;
      io.out(`  ${e.key.slice(0, 12)}  ${(e.node ?? '?').padEnd(28)} ${kb(e.sizeBytes).padStart(9)}  created ${e.createdAt}  used ${e.lastUsedAt}\n`);
    } else {
      io.out(`  ${e.key.slice(0, 12)}  CORRUPT: ${e.reason}\n`);
    }
  }
  io.out(`total ${kb(total)}\n`);
  // Killed writes are not entries but take space; show them so `gc` is not a mystery.
  const leftovers = await store.leftovers();
  if (leftovers.length > 0) {
    const bytes = leftovers.reduce((sum, l) => sum + l.sizeBytes, 0);
    const dead = leftovers.filter((l) => !l.writerAlive).length;
    io.out(`temp/trash: ${leftovers.length} (${kb(bytes)}), ${dead} left by killed processes; \`modelpress cache gc\` removes those\n`);
  }
  return EXIT.ok;
}

export async function cacheExplain(node: string, opts: CacheOptions, io: Io): Promise<number> {
  const store = openStore(opts.cacheDir, opts.recipe, io);
  const records = (await store.listNodes()).filter((r) => r.nodeId === node);
  if (records.length === 0) {
    const known = [...new Set((await store.listNodes()).map((r) => r.nodeId))].sort();
    io.err(`modelpress cache explain: no node \`${node}\` in ${store.dir}${known.length > 0 ? `; known nodes: ${known.join(', ')}` : ''}\n`);
    return EXIT.invalid;
  }
  for (const r of records) {
    const record = (await store.readRecord(r.key)) as KeyRecord | undefined;
    const lookup = await store.get(r.key);
    io.out(`${r.nodeId} (recipe ${r.scope})\n  key ${r.key}\n  last used ${r.at}\n  entry ${lookup.status === 'hit' ? 'present and verified' : lookup.status === 'corrupt' ? `CORRUPT: ${lookup.reason}` : 'missing (gc or clear removed it)'}\n`);
    if (record) {
      io.out('  key record (sha256 of its canonical JSON is the key):\n');
      io.out(`${JSON.stringify(record, null, 2).replace(/^/gm, '    ')}\n`);
      const drift = await codeDriftSince(record);
      io.out(drift.length === 0 ? '  code and tfjs: as installed now\n' : `  since this entry, the installed code differs: ${drift.join('; ')} (a run re-computes it)\n`);
    }
  }
  return EXIT.ok;
}

export async function cacheGc(keepDays: string | undefined, opts: CacheOptions, io: Io): Promise<number> {
  const days = keepDays === undefined ? 30 : Number(keepDays);
  if (!Number.isFinite(days) || days < 0) {
    io.err(`modelpress cache gc: --keep-days expects a number >= 0, got ${JSON.stringify(keepDays)}\n`);
    return EXIT.invalid;
  }
  const store = openStore(opts.cacheDir, opts.recipe, io);
  const r = await store.gc({ keepDays: days });
  io.out(`removed ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'} unused for ${days} days and ${r.leftovers} leftover${r.leftovers === 1 ? '' : 's'} of killed processes (${kb(r.freedBytes)}), kept ${r.kept}\n`);
  return EXIT.ok;
}

export async function cacheClear(opts: CacheOptions, io: Io): Promise<number> {
  const store = openStore(opts.cacheDir, opts.recipe, io);
  const r = await store.clear();
  io.out(`removed ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'} from ${store.dir}\n`);
  return EXIT.ok;
}
