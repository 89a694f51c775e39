/**
 * `measured.json`: what in an artifact is a wall-clock measurement, so
 * `modelpress reproduce` compares only the deterministic rest.
 *
 * Latency differs from run to run by nature, and so does everything decided
 * from it (a latency verdict, whether the budgets were met). The bytes stay
 * where they are (report.json keeps its latency; the cache digests every
 * file, as it must for integrity), and the artifact lists them here:
 *
 *     { "version": 1,
 *       "files": ["report.md"],                         // whole files
 *       "json": { "report.json": ["/budgets"] } }
 *
 * `json` holds JSON Pointers (RFC 6901) into that file, where a `*` segment
 * matches every array index or object key (`/candidates/` + `*` + `/latency`). The manifest itself is
 * deterministic and is compared like any other file.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const MEASURED_FILE = 'measured.json';

export interface MeasuredManifest {
  version: 1;
  /** Files (relative to the artifact) left out of the comparison. */
  files: string[];
  /** JSON file -> pointers of the values left out of it. */
  json: Record<string, string[]>;
}

/** Removes what `pointer` (with `*` wildcards) names from `value`, in place. */
export function removePointer(value: unknown, pointer: string): void {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const walk = (node: unknown, i: number): void => {
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    const key = parts[i]!;
    const keys = key === '*' ? Object.keys(obj) : [key];
    for (const k of keys) {
      if (!(k in obj)) continue;
      if (i === parts.length - 1) {
        if (Array.isArray(obj)) obj[Number(k)] = null;
        else delete obj[k];
      } else walk(obj[k], i + 1);
    }
  };
  if (parts.length > 0) walk(value, 0);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

export interface DeterministicDigest {
  /** `sha256:<hex>` over the artifact without its measured values. */
  digest: string;
  /** What was left out, for the report: `report.md`, `report.json /budgets`. */
  excluded: string[];
}

/**
 * The digest of an artifact directory's deterministic part: every file by
 * relative path and content, except what its `measured.json` lists.
 * Undefined when the artifact has no `measured.json` (then only the full
 * digest says anything).
 */
export async function deterministicDigest(dir: string): Promise<DeterministicDigest | undefined> {
  const manifestFile = join(dir, MEASURED_FILE);
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as MeasuredManifest;
  const hash = createHash('sha256');
  const skip = new Set(manifest.files);
  for (const file of (await filesUnder(dir)).sort()) {
    const rel = relative(dir, file).split(sep).join('/');
    if (skip.has(rel)) continue;
    let bytes: Buffer | string = await readFile(file);
    const pointers = manifest.json[rel];
    if (pointers) {
      const value = JSON.parse(bytes.toString('utf8')) as unknown;
      for (const p of pointers) removePointer(value, p);
      bytes = JSON.stringify(value);
    }
    hash.update(`${rel}\n${bytes.length}\n`).update(bytes);
  }
  const excluded = [...manifest.files, ...Object.entries(manifest.json).flatMap(([f, ps]) => ps.map((p) => `${f} ${p}`))];
  return { digest: `sha256:${hash.digest('hex')}`, excluded };
}
